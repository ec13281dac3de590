"""The argument values grounding looks at: leaves of a call's arguments, each with
its name, its sub-schema and the object it belongs to (siblings can be swapped)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

from ..context import ToolSpec
from ..subschema import child


class Leaf(NamedTuple):  # a tuple: made for every argument value, so cheap to build
    path: str  # "days", "lines/0/sku"
    key: str  # the property name ("" for an array item)
    value: str | int | float
    schema: dict[str, Any]
    parent: str  # path of the object it belongs to; siblings share it
    exempt: bool  # a default, a const, or an enum value of a parameter with a default


def leaves(args: dict[str, Any], spec: ToolSpec) -> Iterator[Leaf]:
    """The string and number leaves of a call's arguments, in order."""
    for key, value in args.items():
        yield from _walk(value, spec.subs.get(key) or {}, spec.schema, key, key, "")


def _walk(
    value: Any, schema: dict[str, Any], root: dict[str, Any], path: str, key: str, parent: str
) -> Iterator[Leaf]:
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, str | int | float):
        yield Leaf(path, key, value, schema, parent, _exempt(value, schema))
        return
    if _exempt(value, schema):
        return
    if isinstance(value, dict):
        for k, item in value.items():
            yield from _walk(item, child(schema, root, k), root, f"{path}/{k}", k, path)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, child(schema, root, i), root, f"{path}/{i}", key, path)


def _exempt(value: Any, schema: dict[str, Any]) -> bool:
    """Defaults need no evidence; nor do enum values of a parameter that has a default,
    nor a const."""
    if not schema:
        return False
    if "const" in schema or ("enum" in schema and "default" in schema):
        return True
    return "default" in schema and _same(value, schema["default"])


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON values: True is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return (
        type(a) is type(b) or (isinstance(a, int | float) and isinstance(b, int | float))
    ) and a == b
