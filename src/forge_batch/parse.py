"""Responses -> samples in OpenAI chat format.

A seed response is the strict JSON the seed schema asked for; it becomes
user -> assistant(tool_calls) -> tool results -> assistant answer, with
call ids derived from the sample id, arguments decoded back from the strict
encoding (optional nulls dropped, JSON-encoded free-form values decoded) and
written as JSON strings. A paraphrase response yields one sample per rewrite,
sharing the seed's calls and results. Parsing only builds; the checks judge.
Each function returns (sample(s), None) or (None, (check, reason)).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from typing import Any

import orjson

from . import keys, plan, prompts
from .cache import Cached
from .config import Config
from .records import Sample
from .tools import Tool, ToolSet, strict

Failure = tuple[str, str]  # (check, reason)


def call_id(sample_id: str, n: int) -> str:
    return "call_" + hashlib.sha256(f"{sample_id}:{n}".encode()).hexdigest()[:20]


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def content_of(cached: Cached) -> tuple[str | None, dict[str, Any], Failure | None]:
    """(message content, meta, failure) of a chat.completion body."""
    body = cached.body
    choices = body.get("choices")
    meta: dict[str, Any] = {
        "model": body.get("model"),
        "batch_id": cached.batch_id,
        "usage": body.get("usage"),
    }
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return None, meta, ("parse", "response has no choices")
    choice = choices[0]
    meta["finish_reason"] = choice.get("finish_reason")
    message = choice.get("message") or {}
    if message.get("refusal"):
        return None, meta, ("refusal", f"the model refused: {str(message['refusal'])[:200]}")
    if choice.get("finish_reason") == "content_filter":
        return None, meta, ("hygiene", "finish_reason content_filter")
    content = message.get("content")
    if choice.get("finish_reason") == "length":
        return None, meta, ("truncated", "finish_reason length: the answer was cut off")
    if not isinstance(content, str) or not content.strip():
        return None, meta, ("parse", "empty message content")
    return content, meta, None


def _load(content: str) -> tuple[dict[str, Any] | None, Failure | None]:
    try:
        data = json.loads(content)
    except json.JSONDecodeError as exc:
        return None, ("parse", f"not valid JSON: {exc.msg} at char {exc.pos}")
    if not isinstance(data, dict):
        return None, ("parse", "expected a JSON object")
    return data, None


def _text(data: dict[str, Any], field: str) -> str | None:
    value = data.get(field)
    return value if isinstance(value, str) else None


def _calls(
    raw: Any,
    toolset: ToolSet,
    sample_id: str,
    first: int,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], Failure | None]:
    """-> (assistant tool_calls, tool messages, failure)."""
    if not isinstance(raw, list):
        return [], [], ("parse", "'calls' is not a list")
    tool_calls, results = [], []
    for n, call in enumerate(raw, first):
        if not isinstance(call, dict) or not isinstance(call.get("name"), str):
            return [], [], ("parse", f"call {n} has no name")
        tool: Tool | None = toolset.by_name.get(call["name"])
        args = call.get("arguments")
        if tool is not None:
            try:
                args = strict.decode(args, tool.codec)
            except strict.DecodeError as exc:
                return [], [], ("json", f"call {n} ({call['name']}): {exc}")
        cid = call_id(sample_id, n)
        tool_calls.append(
            {
                "id": cid,
                "type": "function",
                "function": {"name": call["name"], "arguments": _dumps(args)},
            }
        )
        result = call.get("result")
        if (
            tool is not None
            and isinstance(result, dict | list)
            and "error" not in (result if isinstance(result, dict) else {})
        ):
            with contextlib.suppress(strict.DecodeError):
                result = strict.decode(result, prompts.result_schema(tool)[1])
        text = result if isinstance(result, str) else _dumps(result)
        results.append({"role": "tool", "tool_call_id": cid, "content": text})
    return tool_calls, results, None


def _turn(
    data: dict[str, Any],
    suffix: str,
    toolset: ToolSet,
    sample_id: str,
    first: int,
    with_calls: bool,
) -> tuple[list[dict[str, Any]], int, Failure | None]:
    user, answer = _text(data, "user" + suffix), _text(data, "answer" + suffix)
    if user is None or answer is None:
        return [], first, ("parse", f"missing 'user{suffix}' or 'answer{suffix}'")
    messages: list[dict[str, Any]] = [{"role": "user", "content": user}]
    if with_calls:
        tool_calls, results, failure = _calls(data.get("calls" + suffix), toolset, sample_id, first)
        if failure:
            return [], first, failure
        if tool_calls:
            messages.append({"role": "assistant", "content": None, "tool_calls": tool_calls})
            messages.extend(results)
        first += len(tool_calls)
    messages.append({"role": "assistant", "content": answer})
    return messages, first, None


def record_tools(
    spec_id: str, targets: tuple[str, ...], toolset: ToolSet, config: Config
) -> list[dict[str, Any]]:
    """The record's tools: targets plus a few distractors, in tool-file order."""
    chosen = set(targets) | set(
        plan.distractors(spec_id, targets, toolset, config.distractors, config.random_seed)
    )
    return [t.openai() for t in toolset.tools if t.export_name in chosen]


def parse_seed(
    spec: plan.SeedSpec, key: str, cached: Cached, toolset: ToolSet, config: Config, source: str
) -> tuple[Sample | None, dict[str, Any], Failure | None]:
    """One seed response -> (sample, meta, failure); ``source`` names the stage."""
    sample_id = keys.short(key)
    content, meta, failure = content_of(cached)
    meta = {"request_key": key, "parent": None, **meta, "tool": spec.tool}
    if failure:
        return None, meta, failure
    assert content is not None
    data, failure = _load(content)
    if failure:
        return None, meta, failure
    assert data is not None
    with_calls = spec.scenario not in plan.CATALOG_SCENARIOS
    if spec.scenario == "multi_turn":
        first, n, failure = _turn(data, "_1", toolset, sample_id, 0, True)
        second, _, failure2 = (
            ([], n, None) if failure else _turn(data, "_2", toolset, sample_id, n, True)
        )
        messages, failure = first + second, failure or failure2
    else:
        messages, _, failure = _turn(data, "", toolset, sample_id, 0, with_calls)
    if failure:
        return None, meta, failure
    if spec.shown:  # catalogue scenarios: the record offers what the request showed
        tools = [toolset.by_name[n].openai() for n in spec.shown]
    else:
        tools = record_tools(sample_id, spec.targets, toolset, config)
    return Sample(sample_id, source, spec.scenario, messages, tools, meta), meta, None


def parse_paraphrases(
    seed: Sample,
    key: str,
    cached: Cached,
    source: str,
) -> tuple[list[Sample], dict[str, Any], Failure | None]:
    """One paraphrase response -> samples sharing the seed's calls and results."""
    content, meta, failure = content_of(cached)
    meta = {"request_key": key, "parent": seed.id, **meta, "tool": seed.meta.get("tool")}
    if failure:
        return [], meta, failure
    assert content is not None
    data, failure = _load(content)
    if failure:
        return [], meta, failure
    assert data is not None
    rewrites = data.get("paraphrases")
    if not isinstance(rewrites, list) or not all(isinstance(r, str) for r in rewrites):
        return [], meta, ("parse", "'paraphrases' is not a list of strings")
    first_user = next(i for i, m in enumerate(seed.messages) if m.get("role") == "user")
    out = []
    for j, text in enumerate(rewrites):
        messages = [dict(m) for m in seed.messages]
        messages[first_user] = {"role": "user", "content": text}
        out.append(
            Sample(
                f"{keys.short(key)}-{j}",
                source,
                seed.scenario,
                messages,
                seed.tools,
                dict(meta),
            )
        )
    return out, meta, None


def argument_values(sample: Sample) -> tuple[str, ...]:
    """Argument values a paraphrase must keep: those the first user turn states."""
    first_user = next(
        (m.get("content") or "" for m in sample.messages if m.get("role") == "user"), ""
    )
    text = first_user.casefold()
    seen: dict[str, None] = {}
    for message in sample.messages:
        for call in message.get("tool_calls") or []:
            try:
                args = json.loads(call["function"]["arguments"])
            except (ValueError, KeyError, TypeError):
                continue
            for value in _leaves(args):
                if value and value.casefold() in text:
                    seen.setdefault(value, None)
    return tuple(seen)


def _leaves(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _leaves(v)]
    if isinstance(value, list):
        return [s for v in value for s in _leaves(v)]
    if isinstance(value, bool) or value is None:
        return []
    return [str(value)] if isinstance(value, str | int | float) else []
