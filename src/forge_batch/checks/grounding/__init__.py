"""Grounding: every argument value was said by the user or returned by an earlier tool.

A value nobody gave is a hallucination; defaults and consts need no evidence.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from ...records import Sample
from ..context import CheckContext, ToolSpec, message_text, short
from ..subschema import child
from .evidence import Evidence


def check_grounding(sample: Sample, ctx: CheckContext) -> str | None:
    """Every argument value was said by the user or returned by an earlier tool; a value
    nobody gave is a hallucination (defaults exempt)."""
    usable = ctx.view(sample).usable
    if not usable:
        return None
    evidence, k = Evidence(), 0
    for turn, message in enumerate(sample.messages):
        if k == len(usable):
            break
        role = message.get("role")
        if role == "user" or role == "tool":
            content = message.get("content")
            evidence.add(
                content
                if isinstance(content, str)
                else message_text(content) or orjson.dumps(content).decode()
            )
        while k < len(usable) and usable[k][0].turn == turn:
            call, spec = usable[k]
            k += 1
            for path, value in _leaves(call.args, spec):
                if not evidence.has(value):
                    return (
                        f"{call.label()}: argument '{path}' = {short(repr(value), 80)} "
                        "is not in the user turns or earlier tool results"
                    )
    return None


def _exempt(value: Any, schema: dict[str, Any]) -> bool:
    """Defaults need no evidence; nor do enum values of a parameter that has a default,
    nor a const."""
    if not schema:
        return False
    if "const" in schema or ("enum" in schema and "default" in schema):
        return True
    return "default" in schema and _same(value, schema["default"])


def _leaves(args: dict[str, Any], spec: ToolSpec) -> Iterator[tuple[str, Any]]:
    """(path, value) of argument leaves that need evidence (strings and numbers)."""
    for key, value in args.items():
        sub = spec.subs.get(key) or {}
        if value is None or value is True or value is False or _exempt(value, sub):
            continue
        if isinstance(value, str | int | float):
            yield key, value
        else:
            yield from _nested(value, sub, spec.schema, key)


def _nested(
    value: Any,
    schema: dict[str, Any],
    root: dict[str, Any],
    path: str,
) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            yield path, value
        return
    for key, item in items:
        sub = child(schema, root, key)
        if item is None or isinstance(item, bool) or _exempt(item, sub):
            continue
        yield from _nested(item, sub, root, f"{path}/{key}")


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON values: True is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return (
        type(a) is type(b) or (isinstance(a, int | float) and isinstance(b, int | float))
    ) and a == b
