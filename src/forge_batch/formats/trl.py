"""TRL / transformers chat-template format: {"messages", "tools", "id", "meta"}.

Messages are what ``tokenizer.apply_chat_template`` documents: tool-call
arguments as a dict (templates print them with ``tojson``; a string would be
encoded twice), tool turns with ``tool_call_id`` and the function ``name``
(some templates read one, some the other), no ``content`` key on a turn that
only calls tools. A ``developer`` message becomes ``system`` in place (chat
templates know no developer role; see common.messages_of).

``tools`` is a JSON string of OpenAI-style function entries, not a list:
tool schemas differ in shape from tool to tool, and Arrow would merge them
into one struct, filling every schema with the other tools' keys as nulls
(or fail on a type clash). TRL's SFTTrainer ``json.loads`` a string ``tools``
column itself; elsewhere pass ``tools=json.loads(row["tools"])``.
``meta`` is a JSON string for the same reason (see common.meta_text).

Loading with ``datasets`` needs datasets >= 4.7 (docs/formats.md): the
argument dicts vary per tool, and 4.7 stores ``messages`` with its Json type
and round-trips them exactly. Older versions merge the dicts into one struct:
an argument whose type differs between calls fails the load (ArrowInvalid),
otherwise every call gets the other tools' keys as nulls. On such a stack,
export ``sharegpt`` (strings only). datasets types the column from the
first 10 MB of the file; if those hold no tool call at all, pass
``features=Features({"messages": List(Json()), "tools": Value("string"),
"id": Value("string"), "meta": Value("string")})``.
"""

from __future__ import annotations

from typing import Any

import orjson

from .common import (
    Record,
    Row,
    arguments,
    call_names,
    chat_message,
    function_of,
    messages_of,
    provenance,
)


def _message(m: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    out = chat_message(m, arguments)
    if m["role"] == "tool":  # transformers' templates name the function a result answers
        name = names.get(m.get("tool_call_id")) or m.get("name")
        if name:
            out["name"] = name
    return out


def convert(record: Record, minimal: bool = False) -> Row:
    """One record -> one TRL row; ``minimal`` leaves out ``meta``."""
    names = call_names(record)
    tools = [{"type": "function", "function": function_of(t)} for t in record.get("tools") or []]
    return {
        "messages": [_message(m, names) for m in messages_of(record)],
        "tools": orjson.dumps(tools).decode(),
        **provenance(record, minimal),
    }
