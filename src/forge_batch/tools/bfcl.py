"""BFCL and Generator tool schemas: their type names rewritten to JSON Schema.

BFCL writes ``dict``/``float``/``tuple``/``any``; the Generator format lists
parameters as ``{name, type, required, default, description}`` entries.
"""

from __future__ import annotations

from typing import Any

from ..errors import ToolsError

# Type names seen in BFCL and Generator files -> JSON Schema.
TYPE_ALIASES: dict[str, Any] = {
    "dict": "object",
    "object": "object",
    "hashmap": "object",
    "map": "object",
    "float": "number",
    "double": "number",
    "number": "number",
    "int": "integer",
    "integer": "integer",
    "long": "integer",
    "str": "string",
    "string": "string",
    "char": "string",
    "bool": "boolean",
    "boolean": "boolean",
    "list": "array",
    "array": "array",
    "tuple": "array",
    "arraylist": "array",
    "any": None,
    "null": "null",
}


def bfcl_types(node: Any, where: str) -> Any:
    """Rewrite BFCL/Generator type names (dict, float, tuple, any) to JSON Schema."""
    if isinstance(node, list):
        return [bfcl_types(n, where) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "type" and isinstance(value, str):
            low = value.strip().lower()
            if low not in TYPE_ALIASES:
                raise ToolsError(f"unknown type {value!r}", where=where)
            mapped = TYPE_ALIASES[low]
            if mapped is not None:
                out["type"] = mapped
        elif key in ("properties", "$defs", "definitions") and isinstance(value, dict):
            out[key] = {k: bfcl_types(v, where) for k, v in value.items()}
        elif key in ("items", "additionalProperties", "anyOf", "oneOf", "allOf", "prefixItems"):
            out[key] = bfcl_types(value, where)
        else:
            out[key] = value
    return out


def param_list(params: list[Any], where: str) -> dict[str, Any]:
    """Generator format: a list of {name, type, required, default, description}."""
    props: dict[str, Any] = {}
    required = []
    for i, p in enumerate(params):
        if not isinstance(p, dict) or not isinstance(p.get("name"), str) or not p["name"]:
            raise ToolsError("each parameter needs a 'name'", where=f"{where}.parameters[{i}]")
        schema = {k: v for k, v in p.items() if k not in ("name", "required")}
        schema.setdefault("type", "string")
        props[p["name"]] = bfcl_types(schema, f"{where}.parameters[{i}]")
        if p.get("required", False) is True:
            required.append(p["name"])
    return {"type": "object", "properties": props, "required": required}
