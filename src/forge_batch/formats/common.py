"""What every converter needs to know about a dataset record, in one place.

A record is one line of out/dataset.jsonl (fb-dataset/1): OpenAI chat
``messages`` (tool-call arguments as JSON strings, results as strings) and
OpenAI ``tools``. Converters read it only through these helpers, so a change
to the record shape is a change here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson

Record = dict[str, Any]
Row = dict[str, Any]


def text_json(value: Any) -> str:
    """JSON for text a model reads: ', ' and ': ' separators, UTF-8 kept as is.

    This is how the Hermes, LLaMA-Factory and Qwen prompts print JSON, so the
    rendered text matches what those models saw in pre-training.
    """
    return json.dumps(value, ensure_ascii=False)


def function_of(tool: dict[str, Any]) -> dict[str, Any]:
    """The bare function object ({name, description, parameters}) of a tools entry."""
    fn = tool.get("function") if tool.get("type") == "function" else tool
    if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
        raise ValueError("a tools entry has no function name")
    out = {"name": fn["name"], "description": fn.get("description") or ""}
    out["parameters"] = fn.get("parameters") or {"type": "object", "properties": {}}
    return out


def functions(record: Record) -> list[dict[str, Any]]:
    return [function_of(t) for t in record.get("tools") or []]


def arguments(call: dict[str, Any]) -> dict[str, Any]:
    """A tool call's arguments as a dict (the record stores a JSON string)."""
    raw = call["function"].get("arguments")
    value = json.loads(raw) if isinstance(raw, str) else raw
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"arguments of {call['function'].get('name')!r} are not a JSON object")
    return value


def arguments_text(call: dict[str, Any]) -> str:
    """A tool call's arguments as the JSON string OpenAI expects."""
    raw = call["function"].get("arguments")
    return raw if isinstance(raw, str) else orjson.dumps(raw or {}).decode()


def result_value(content: Any) -> Any:
    """A tool result for embedding in JSON: the object or array it encodes, else the text."""
    if isinstance(content, str) and content[:1] in ("{", "["):
        try:
            return json.loads(content)
        except ValueError:
            return content
    return content if content is not None else ""


def chat_message(m: dict[str, Any], encode: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    """An OpenAI-style chat message; ``encode`` writes a call's arguments (string or dict).

    A turn that only calls tools carries no ``content`` key (OpenAI and TRL
    both accept that; an empty string would teach the model to say nothing).
    """
    role = m["role"]
    out: dict[str, Any] = {"role": role}
    calls = m.get("tool_calls") or []
    content = m.get("content")
    if not calls or (isinstance(content, str) and content):
        out["content"] = content if content is not None else ""
    if calls:
        out["tool_calls"] = [
            {
                "id": c.get("id"),
                "type": "function",
                "function": {"name": c["function"]["name"], "arguments": encode(c)},
            }
            for c in calls
        ]
    if role == "tool":
        out["tool_call_id"] = m.get("tool_call_id")
    return out


def call_names(record: Record) -> dict[str, str]:
    """tool_call_id -> function name, so results can name the function they answer."""
    return {
        c.get("id"): c["function"]["name"]
        for m in record["messages"]
        for c in m.get("tool_calls") or []
    }


def meta_text(record: Record) -> str:
    """Provenance as one JSON string column.

    A string, not an object: Arrow infers a column's type from the first chunk
    of the file, so ``parent: null`` in the first 10 MB and a string later (or
    usage present on some rows, absent on others) makes ``load_dataset`` fail.
    ``json.loads(row["meta"])`` gives the dict back.
    """
    meta = {
        "source": record.get("source"),
        "scenario": record.get("scenario"),
        **(record.get("meta") or {}),
    }
    return orjson.dumps(meta).decode()


def provenance(record: Record, minimal: bool) -> Row:
    """The ``id`` (always) and ``meta`` (unless minimal) columns."""
    extra: Row = {"id": str(record["id"])}
    if not minimal:
        extra["meta"] = meta_text(record)
    return extra


def messages_of(record: Record) -> list[dict[str, Any]]:
    """The record's messages as every export reads them.

    Two normalizations, both about what a trainer sees:

    - ``developer`` becomes ``system``. OpenAI's newer models name the system
      prompt "developer"; no export target has that role (LLaMA-Factory drops a
      ShareGPT row with an unknown tag, Hermes and Qwen templates have no such
      turn, the fine-tuning schema rejects it), and every trainer reads it as
      what it is, the system prompt.
    - The results that answer one assistant turn follow that turn's call order
      (by ``tool_call_id``). Formats without ids (ShareGPT, Hermes, most chat
      templates) pair results with calls by position, so results stored in
      arrival order would each answer the wrong call. Results whose id matches
      no call keep their place after the matched ones.
    """
    out: list[dict[str, Any]] = []
    order: dict[Any, int] = {}
    results: list[dict[str, Any]] = []
    for m in record["messages"]:
        if m.get("role") == "tool":
            results.append(m)
            continue
        if results:
            out += sorted(results, key=lambda r: order.get(r.get("tool_call_id"), len(order)))
            results = []
        if m.get("role") == "developer":
            m = {**m, "role": "system"}
        if m.get("tool_calls"):
            order = {c.get("id"): i for i, c in enumerate(m["tool_calls"])}
        out.append(m)
    out += sorted(results, key=lambda r: order.get(r.get("tool_call_id"), len(order)))
    return out


def split_system(messages: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """(system text, the other messages): formats that keep the system prompt apart."""
    system = [m.get("content") or "" for m in messages if m.get("role") == "system"]
    rest = [m for m in messages if m.get("role") != "system"]
    return "\n\n".join(s for s in system if isinstance(s, str) and s), rest
