"""Hermes ChatML text (NousResearch Hermes-Function-Calling): {"text", "id", "meta"}.

One ``text`` per conversation, for trainers that take plain text:

    <|im_start|>system
    You are a function calling AI model. ... <tools>\n[functions]\n</tools> ...<|im_end|>
    <|im_start|>user\n...<|im_end|>
    <|im_start|>assistant\n<tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call><|im_end|>
    <|im_start|>tool\n<tool_response>\n{"name": ..., "content": ...}\n</tool_response><|im_end|>
    <|im_start|>assistant\n...<|im_end|>

The system prompt is the one in the research notes (Hermes 2 Pro wording, tools
as a JSON list of {name, description, parameters}); a system message of the
record follows it. Parallel calls are several <tool_call> blocks in one
assistant turn; their results several <tool_response> blocks in one tool turn,
each {"name", "content"} as in Hermes' own data. ``parse_hermes`` reads the
text back, so tests can show every call survives the rendering.
``meta`` is a JSON string (see common.meta_text); ``text``/``id`` are strings,
so the file loads with any ``datasets`` version.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from .common import (
    Record,
    Row,
    arguments,
    call_names,
    functions,
    messages_of,
    provenance,
    result_value,
    text_json,
)

SYSTEM_HEAD = (
    "You are a function calling AI model. You are provided with function signatures within "
    "<tools></tools> XML tags. You may call one or more functions to assist with the user "
    "query. Don't make assumptions about what values to plug into functions."
)
SYSTEM_TAIL = (
    "For each function call, return a JSON object with function name and arguments within "
    "<tool_call></tool_call> XML tags:\n<tool_call>\n"
    '{"name": "<function-name>", "arguments": <args-dict>}\n</tool_call>'
)
START, END = "<|im_start|>", "<|im_end|>"


def system_prompt(fns: list[dict[str, Any]]) -> str:
    return f"{SYSTEM_HEAD}\n\n<tools>\n{text_json(fns)}\n</tools>\n\n{SYSTEM_TAIL}"


def _turn(role: str, body: str) -> str:
    return f"{START}{role}\n{body}{END}"


def _call_block(call: dict[str, Any]) -> str:
    payload = {"name": call["function"]["name"], "arguments": arguments(call)}
    return f"<tool_call>\n{text_json(payload)}\n</tool_call>"


def render(record: Record) -> str:
    """The whole conversation as one ChatML string (no trailing newline)."""
    names = call_names(record)
    fns = functions(record)
    messages = messages_of(record)
    system = [m.get("content") or "" for m in messages if m.get("role") == "system"]
    head = "\n\n".join(([system_prompt(fns)] if fns else []) + [s for s in system if s])
    turns = [_turn("system", head)] if head else []
    results: list[str] = []
    for m in messages:
        role = m.get("role")
        if role == "tool":
            payload = {
                "name": names.get(m.get("tool_call_id")) or m.get("name") or "",
                "content": result_value(m.get("content")),
            }
            results.append(f"<tool_response>\n{text_json(payload)}\n</tool_response>")
            continue
        if results:
            turns.append(_turn("tool", "\n".join(results)))
            results = []
        if role == "system":
            continue
        parts = [m["content"]] if isinstance(m.get("content"), str) and m["content"] else []
        parts += [_call_block(c) for c in m.get("tool_calls") or []]
        turns.append(_turn(role, "\n".join(parts)))
    if results:
        turns.append(_turn("tool", "\n".join(results)))
    return "\n".join(turns)


def convert(record: Record, minimal: bool = False) -> Row:
    """One record -> {"text", "id", "meta"}; ``minimal`` leaves out ``meta``."""
    return {"text": render(record), **provenance(record, minimal)}


@dataclass(slots=True)
class Turn:
    """One parsed ChatML turn: free text plus the calls or results it carries."""

    role: str
    content: str
    calls: list[dict[str, Any]] = field(default_factory=list)  # {"name", "arguments"}
    responses: list[Any] = field(default_factory=list)  # decoded <tool_response> bodies
    tools: list[dict[str, Any]] = field(default_factory=list)  # system turn: <tools> list


_TURN = re.compile(re.escape(START) + r"(\w+)\n(.*?)" + re.escape(END), re.DOTALL)
_CALL = re.compile(r"<tool_call>\n(.*?)\n</tool_call>", re.DOTALL)
_RESP = re.compile(r"<tool_response>\n(.*?)\n</tool_response>", re.DOTALL)
_TOOLS = re.compile(r"<tools>\n(.*?)\n</tools>", re.DOTALL)


def parse_hermes(text: str) -> list[Turn]:
    """Hermes ChatML -> turns; raises ValueError when a block is not valid JSON."""
    out = []
    for role, body in _TURN.findall(text):
        turn = Turn(role, body)
        if role == "system":
            found = _TOOLS.search(body)
            turn.tools = json.loads(found.group(1)) if found else []
        elif role == "assistant":
            for raw in _CALL.findall(body):
                call = json.loads(raw)
                turn.calls.append({"name": call["name"], "arguments": call["arguments"]})
            turn.content = _CALL.sub("", body).strip()
        elif role == "tool":
            turn.responses = [json.loads(raw) for raw in _RESP.findall(body)]
            turn.content = _RESP.sub("", body).strip()
        out.append(turn)
    return out
