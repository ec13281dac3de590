"""OpenAI fine-tuning JSONL: {"messages", "tools", "parallel_tool_calls"}.

Only the keys of OpenAI's per-line schema (FineTuneChatRequestInput: messages,
tools, parallel_tool_calls, functions) are written, with or without
``minimal``: the upload validator names and rejects extra keys ("Example N
contains an extra ..."), so an ``id`` or ``meta`` column would make the file
fail after upload. Provenance is kept by position instead: line N of the export
is record N of out/dataset.jsonl.

Messages follow the documented fine-tuning examples: an assistant turn that
calls tools has ``tool_calls`` (arguments as a JSON string) and no ``content``
key unless it also says something; tool turns carry ``tool_call_id``. Message
keys outside role/content/name/tool_calls/tool_call_id/weight are dropped.
``tools`` is left out when the record has none (the API rejects an empty list).
A ``developer`` message is written as ``system`` (the fine-tuning schema has
no developer role; see common.messages_of), in place.
"""

from __future__ import annotations

from typing import Any

from .common import Record, Row, arguments_text, chat_message, function_of, messages_of

_KEEP = ("name", "weight")


def _message(m: dict[str, Any]) -> dict[str, Any]:
    out = chat_message(m, arguments_text)
    for key in _KEEP:
        if key in m and m[key] is not None:
            out[key] = m[key]
    return out


def _tool(tool: dict[str, Any]) -> dict[str, Any]:
    fn = function_of(tool)
    src = tool.get("function") if tool.get("type") == "function" else tool
    if isinstance(src, dict) and isinstance(src.get("strict"), bool):
        fn["strict"] = src["strict"]
    return {"type": "function", "function": fn}


def convert(record: Record, minimal: bool = False) -> Row:
    """One record -> one OpenAI fine-tuning line (``minimal`` changes nothing here)."""
    messages = [_message(m) for m in messages_of(record)]
    row: Row = {"messages": messages}
    tools = record.get("tools") or []
    if tools:
        row["tools"] = [_tool(t) for t in tools]
        row["parallel_tool_calls"] = any(
            len(m.get("tool_calls") or []) > 1 for m in record["messages"]
        )
    return row
