"""The judge request: one body per sample, asking a model for a strict verdict.

The second verification layer (ToolACE; DESIGN.md "Two verification layers"):
the rules cannot see a value swapped between two arguments, a name cut short,
a wrong normalization or a paraphrase that changed the intent; a model can.

Body layout, static parts first so prompt caching reuses the longest prefix:
the rubric (system, the same for every request), then the tools the sample
had (the same for every sample of a tool), then the conversation, then what
varies most: the seed a paraphrase rewrites and the rule layer's doubts.
Messages are shown as one line each, texts JSON-quoted, and without call ids
(derived from sample ids), so the key depends on what the judge reads only.

The threshold is not in the body: it is applied at build time, so changing it
re-sends nothing. The judge model is, so changing it re-sends judge requests
only. The verdict schema is fixed (prompt caching again); the parser checks
that the verdict covers the sample's calls (verdict.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from . import keys, reasoning
from .config import Config
from .prompts import SCENARIO_TEXT, closed_object

VERDICT_NAME = "judge_verdict"

JUDGE_SYSTEM = """\
You grade one training conversation of an AI assistant that calls tools (functions). \
You get the tools the assistant had, the conversation, and sometimes notes. Reply with \
ONE JSON object that matches the response schema exactly.

For each tool call the assistant made, in order (tool: its name):
- arguments: one entry per argument. value_ok is true when the value is what the user \
asked for: the user's words, an earlier tool result, or a normalization a careful \
person would make (a written date as ISO "2022-03-11", "New York" as "New York, NY", \
"two dozen" as 24, "50mH" as 0.05, an enum label the user said in other words, a \
default the tool's schema or description states, a stock ticker or currency code for \
the name the user gave). value_ok is false when the value belongs to another argument \
(swapped), is cut short ("New" for "New York City"), is invented, or is a wrong \
normalization. reason: a few words.
- call_ok: the right tool for what the user asked, and nothing the call needs is missing.
call_decision_ok: calling tools (or calling none) was right. A request the tools can \
serve needs a call; small talk, general knowledge, something no tool does, or a \
request missing a detail the call needs gets no call (the assistant answers, or asks \
for the missing detail).
answer_truthful: the assistant's final answer reports the tool results faithfully \
(no invented facts, nothing contradicting them); null when there is no final answer.
intent_kept: only when an original request is given (the conversation's first user \
message is a paraphrase of it): true when it asks for the same thing with the same \
values as the original; null when no original request is given.
reason: one line; the main problem, or what makes the conversation good.
score: from 0 to 1, how good the conversation is as training data; below 0.8 when \
anything above is false.
"""


NULLABLE_BOOL = {"type": ["boolean", "null"]}
# reason before score: the model states its finding, then scores it
VERDICT_SCHEMA: dict[str, Any] = closed_object(
    {
        "calls": {
            "type": "array",
            "items": closed_object(
                {
                    "tool": {"type": "string"},
                    "arguments": {
                        "type": "array",
                        "items": closed_object(
                            {
                                "name": {"type": "string"},
                                "value_ok": {"type": "boolean"},
                                "reason": {"type": "string"},
                            }
                        ),
                    },
                    "call_ok": {"type": "boolean"},
                }
            ),
        },
        "call_decision_ok": {"type": "boolean"},
        "answer_truthful": NULLABLE_BOOL,
        "intent_kept": NULLABLE_BOOL,
        "reason": {"type": "string"},
        "score": {"type": "number", "minimum": 0, "maximum": 1},
    }
)
RESPONSE_FORMAT: dict[str, Any] = {
    "type": "json_schema",
    "json_schema": {"name": VERDICT_NAME, "strict": True, "schema": VERDICT_SCHEMA},
}


@dataclass(frozen=True, slots=True)
class Reference:
    """What a paraphrase rewrites: its seed's user turn and calls."""

    user: str
    calls: tuple[tuple[str, str], ...]  # (tool name, arguments JSON text)


def _q(text: Any) -> str:
    return json.dumps(text if isinstance(text, str) else "", ensure_ascii=False)


def _call_line(name: str, arguments: Any) -> str:
    args = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
    return f"{name} {args}"


def calls_of(messages: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    """(tool name, arguments text) of every call, in order."""
    out = []
    for m in messages:
        for call in m.get("tool_calls") or []:
            fn = (call.get("function") or {}) if isinstance(call, dict) else {}
            out.append((str(fn.get("name", "")), fn.get("arguments") or "{}"))
    return out


def transcript(messages: Sequence[dict[str, Any]]) -> str:
    """One line per message: ``user: "..."``, ``assistant calls NAME {...}``,
    ``tool NAME returned: ...``, ``assistant: "..."``."""
    names: dict[str, str] = {}
    lines = []
    for m in messages:
        role = m.get("role")
        if role == "tool":
            name = names.get(str(m.get("tool_call_id")), "?")
            lines.append(f"tool {name} returned: {_q(m.get('content'))}")
            continue
        for call in m.get("tool_calls") or []:
            fn = (call.get("function") or {}) if isinstance(call, dict) else {}
            names[str(call.get("id"))] = str(fn.get("name", ""))
            lines.append(f"assistant calls {_call_line(fn.get('name', ''), fn.get('arguments'))}")
        if m.get("content") is not None or not m.get("tool_calls"):
            lines.append(f"{role}: {_q(m.get('content'))}")
    return "\n".join(lines)


_TOOL_TEXTS: dict[bytes, str] = {}  # orjson bytes of a function -> its line (memo)
_TOOL_TEXTS_LIMIT = 4096


def _tool_line(fn: Any) -> str:
    """One function as the prompt shows it. Every judged sample carries its own parsed
    copy of the same few tools, so the line is memoized by orjson's (10x cheaper)
    encoding; the text itself stays json.dumps's, so request bodies do not change."""
    try:
        memo_key = orjson.dumps(fn, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # e.g. an integer past 64 bits: json.dumps copes, orjson does not
        memo_key = None
    if memo_key is not None and (line := _TOOL_TEXTS.get(memo_key)) is not None:
        return line
    line = json.dumps(fn, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    if memo_key is not None:
        if len(_TOOL_TEXTS) >= _TOOL_TEXTS_LIMIT:
            _TOOL_TEXTS.clear()
        _TOOL_TEXTS[memo_key] = line
    return line


def tools_text(tools: Sequence[dict[str, Any]]) -> str:
    """The sample's tools as compact JSON, one per line (OpenAI tools or bare functions)."""
    lines = [
        _tool_line(tool.get("function", tool) if isinstance(tool, dict) else {}) for tool in tools
    ]
    return "\n".join(lines) if lines else "(none)"


def judge_user_text(
    messages: Sequence[dict[str, Any]],
    tools: Sequence[dict[str, Any]],
    scenario: str | None,
    reference: Reference | None,
    doubts: Sequence[str],
) -> str:
    parts = [f"Tools:\n{tools_text(tools)}"]
    if scenario in SCENARIO_TEXT:
        parts.append(f"Meant to show: {SCENARIO_TEXT[scenario]}")
    parts.append(f"Conversation:\n{transcript(messages)}")
    if reference is not None:
        calls = "\n".join(f"calls {_call_line(n, a)}" for n, a in reference.calls) or "no calls"
        parts.append(f"Original request (paraphrased above):\nuser: {_q(reference.user)}\n{calls}")
    if doubts:
        notes = "\n".join(f"- {d}" for d in doubts)
        parts.append(f"Notes from the rule checks (they could not decide; look closely):\n{notes}")
    return "\n\n".join(parts)


def render_judge(
    messages: Sequence[dict[str, Any]],
    tools: Sequence[dict[str, Any]],
    config: Config,
    *,
    scenario: str | None = None,
    reference: Reference | None = None,
    doubts: Sequence[str] = (),
) -> dict[str, Any]:
    """The /v1/chat/completions body of one judge request.

    ``scenario`` None means unlabelled (a real record): the judge then decides
    from the request alone whether the calls fit it.
    """
    judge = config.judge
    body: dict[str, Any] = {
        "model": judge.model,
        "messages": [
            {"role": "system", "content": JUDGE_SYSTEM},
            {
                "role": "user",
                "content": judge_user_text(messages, tools, scenario, reference, doubts),
            },
        ],
        "response_format": RESPONSE_FORMAT,
        "seed": config.random_seed,
        "max_completion_tokens": judge.max_tokens,
    }
    effort = reasoning.default_effort(judge.model)
    if effort is None:
        body["temperature"] = 0.0
    else:  # reasoning models take no temperature; grading needs the least reasoning
        body["reasoning_effort"] = effort
    return body


def judge_canonical(body: dict[str, Any]) -> tuple[str, bytes]:
    """(key, canonical bytes) of a judge body."""
    canon = keys.canonical(body)
    return keys.key_of(canon), canon
