"""Hermes ChatML text: {"text", "id", "meta"}, exactly as Hermes 2 Pro's template renders it.

One ``text`` per conversation, for trainers that take plain text. The reference
is NousResearch's Hermes-2-Pro tool-use chat template (the ``tool_use`` entry
of ``chat_template`` in NousResearch/Hermes-2-Pro-Llama-3-8B's
tokenizer_config.json; copy and origin in tests/data/hermes_2_pro_tool_use.json).
``text`` is byte for byte what that template renders, under transformers'
Jinja settings, for the conversation the ``trl`` export holds (arguments as
objects), with ``bos_token=""`` and no generation prompt: the tokenizer adds
<|begin_of_text|> itself when it tokenizes text. tests/test_formats.py renders
the template with jinja2 and compares.

What that template writes, and so what a model trained on this file sees:

    <|im_start|>system
    You are a function calling AI model. ... Here are the available tools: <tools> {"type":
    "function", "function": {"name": "f", "description": "f(a: str) - ...\\n\\n    Args:
    ...", "parameters": {...}} </tools>Use the following pydantic model ...<|im_end|>
    <|im_start|>system\\n<the record's system prompt><|im_end|>       (when it has one)
    <|im_start|>user\\n...<|im_end|>
    <|im_start|>assistant\\n<tool_call>\\n{"name": "f", "arguments": {...}}\\n</tool_call><|im_end|>
    <|im_start|>tool\\n<tool_response>\\n<result>\\n</tool_response>\\n<|im_end|><|im_start|>...

Its quirks are kept, since a model prompted through this template at inference
sees them too: the tools system turn is written even with no tools; each
function is described in Python-like types (``list[Union[]]`` for any array,
``Union[]`` for a schema without ``type``); the description is not
JSON-escaped; parameter lines follow each other without a separator; results
are the tool's raw text (no name; they pair with the calls by position, which
common.messages_of puts in call order); an assistant turn that calls tools
keeps only its calls; no newline follows a tool turn's <|im_end|>.
One deliberate departure: the template recurses without end on a type it does
not know (``"null"``, as in ``["string", "null"]``); here ``"null"`` is
``None`` and any other unknown name ``Any``.

A ``developer`` message is a ``system`` turn (the template writes nothing for
an unknown role). ``parse_hermes`` reads the text back, so tests can show every
call survives. ``meta`` is a JSON string (see common.meta_text); ``text``/``id``
are strings, so the file loads with any ``datasets`` version.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .common import (
    Record,
    Row,
    arguments,
    chat_message,
    function_of,
    messages_of,
    provenance,
    text_json,
)

START, END = "<|im_start|>", "<|im_end|>"
SYSTEM_HEAD = (
    "You are a function calling AI model. You are provided with function signatures within "
    "<tools></tools> XML tags. You may call one or more functions to assist with the user "
    "query. Don't make assumptions about what values to plug into functions. Here are the "
    "available tools: <tools> "
)
SYSTEM_TAIL = (
    " </tools>Use the following pydantic model json schema for each tool call you will make: "
    '{"properties": {"name": {"title": "Name", "type": "string"}, "arguments": {"title": '
    '"Arguments", "type": "object"}}, "required": ["name", "arguments"], "title": '
    '"FunctionCall", "type": "object"}}\n'
    "For each function call return a json object with function name and arguments within "
    "<tool_call></tool_call> XML tags as follows:\n<tool_call>\n"
    '{"name": <function-name>, "arguments": <args-dict>}\n</tool_call>' + END + "\n"
)
_BASIC = {"string": "str", "number": "float", "integer": "int", "boolean": "bool"}
_MISSING = object()


def python_type(spec: Any) -> str:
    """A JSON Schema as the template's ``json_to_python_type`` macro prints it.

    The macro passes ``spec|items`` (not ``spec.items``) for an array, so every
    array prints ``list[Union[]]``, and a schema without ``type`` falls into
    its union branch with nothing to list: ``Union[]``.
    """
    kind = spec.get("type", _MISSING) if isinstance(spec, dict) else _MISSING
    if isinstance(kind, str) and kind in _BASIC:
        return _BASIC[kind]
    if kind == "array":
        return "list[Union[]]"
    if kind == "object":
        if "additionalProperties" in spec:
            return "dict[str, " + python_type(spec["additionalProperties"]) + "]"
        return "dict"
    if kind is _MISSING:
        return "Union[]"
    if isinstance(kind, str):  # the template recurses forever here; see the module docstring
        return "None" if kind == "null" else "Any"
    if isinstance(kind, (list, dict)):
        return "Union[" + ",".join(python_type({"type": k}) for k in kind) + "]"
    return "Any"


def _trimmed(field_spec: Any) -> str:
    """``param_fields.description|trim``: an absent description is the empty string."""
    if not isinstance(field_spec, dict) or "description" not in field_spec:
        return ""
    return str(field_spec["description"]).strip()


def _tool_text(fn: dict[str, Any]) -> str:
    params = fn["parameters"] if isinstance(fn["parameters"], dict) else {}
    props = params.get("properties") or {}
    signature = ", ".join(f"{name}: {python_type(spec)}" for name, spec in props.items())
    args = "".join(
        f"        {name}({python_type(spec)}): {_trimmed(spec)}" for name, spec in props.items()
    )
    return (
        f'{{"type": "function", "function": {{"name": "{fn["name"]}", '
        f'"description": "{fn["name"]}({signature}) - {fn["description"]}\n\n'
        + ("    Args:\n" + args if props else "")
        + '", "parameters": '
        + (text_json(fn["parameters"]) if props else "{}")
        + "}"
    )


def _turns(messages: list[dict[str, Any]]) -> Iterator[str]:
    """The message loop of the template, one piece per message."""
    for i, m in enumerate(messages):
        role = m["role"]
        if role in ("user", "system") or (role == "assistant" and "tool_calls" not in m):
            yield f"{START}{role}\n{m.get('content') or ''}{END}\n"
        elif role == "assistant":
            calls = "".join(
                f'\n<tool_call>\n{{"name": "{c["function"]["name"]}", '
                f'"arguments": {text_json(c["function"]["arguments"])}}}\n</tool_call>'
                for c in m["tool_calls"]
            )
            yield f"{START}assistant{calls}{END}\n"
        elif role == "tool":
            last = i == len(messages) - 1
            opens = i > 0 and messages[i - 1]["role"] != "tool"
            closes = last or messages[i + 1]["role"] != "tool"
            yield (
                (f"{START}tool\n" if opens else "")
                + f"<tool_response>\n{m.get('content') or ''}\n</tool_response>"
                + ("" if last else "\n")
                + (END if closes else "")
            )


def conversation(record: Record) -> list[dict[str, Any]]:
    """The messages the template is given: OpenAI chat messages, arguments as objects."""
    return [chat_message(m, arguments) for m in messages_of(record)]


def render(record: Record) -> str:
    """The whole conversation as Hermes 2 Pro's tool-use template writes it."""
    fns = [function_of(t) for t in record.get("tools") or []]
    head = START + "system\n" + SYSTEM_HEAD + "\n".join(_tool_text(f) for f in fns) + SYSTEM_TAIL
    return head + "".join(_turns(conversation(record)))


def convert(record: Record, minimal: bool = False) -> Row:
    """One record -> {"text", "id", "meta"}; ``minimal`` leaves out ``meta``."""
    return {"text": render(record), **provenance(record, minimal)}


@dataclass(slots=True)
class Turn:
    """One parsed ChatML turn: free text plus the calls or results it carries."""

    role: str
    content: str
    calls: list[dict[str, Any]] = field(default_factory=list)  # {"name", "arguments"}
    responses: list[str] = field(default_factory=list)  # <tool_response> bodies, as written
    tool_names: list[str] = field(default_factory=list)  # system turn: functions in <tools>


_TURN = re.compile(re.escape(START) + r"(\w+)\n(.*?)" + re.escape(END), re.DOTALL)
_CALL = re.compile(r"<tool_call>\n(.*?)\n</tool_call>", re.DOTALL)
_RESP = re.compile(r"<tool_response>\n(.*?)\n</tool_response>", re.DOTALL)
_TOOL_NAME = re.compile(r'\{"type": "function", "function": \{"name": "(.*?)", "description"')


def parse_hermes(text: str) -> list[Turn]:
    """Hermes ChatML -> turns; raises ValueError when a <tool_call> is not valid JSON.

    Tool descriptions are not JSON-escaped by the template, so the <tools> list
    is read for its function names only.
    """
    out = []
    for role, body in _TURN.findall(text):
        turn = Turn(role, body)
        if role == "system" and body.startswith(SYSTEM_HEAD):
            turn.tool_names = _TOOL_NAME.findall(body)
        elif role == "assistant":
            for raw in _CALL.findall(body):
                call = json.loads(raw)
                turn.calls.append({"name": call["name"], "arguments": call["arguments"]})
            turn.content = _CALL.sub("", body).strip()
        elif role == "tool":
            turn.responses = _RESP.findall(body)
            turn.content = _RESP.sub("", body).strip()
        out.append(turn)
    return out
