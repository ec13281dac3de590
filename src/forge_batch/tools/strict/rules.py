"""What strict mode allows, and the small rewrites the converter shares.

OpenAI's documented limits and keywords, how a value's JSON type is named,
and how a strict schema says "may be null" (how strict mode spells optional).
"""

from __future__ import annotations

import json
from typing import Any

# OpenAI documents these limits for strict schemas.
MAX_OBJECT_DEPTH = 10
MAX_PROPERTIES = 5000
MAX_ENUM_VALUES = 1000
# The response format wraps a tool's parameters two object levels deep
# (root -> calls[] -> arguments), so a tool itself may nest this far.
MAX_PARAM_DEPTH = MAX_OBJECT_DEPTH - 2

STRING_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"}
)
# Dropped without a note: they carry no meaning for generation.
SILENT = frozenset(
    {
        "$schema",
        "$id",
        "$comment",
        "title",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        "$anchor",
        "contentMediaType",
    }
)
NUMERIC = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")


class Unconvertible(Exception):
    """The schema has no faithful strict form; the tool is skipped with this reason."""


def json_default(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def describe(parts: list[str]) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())


def infer_types(node: dict[str, Any]) -> list[str]:
    """The types a schema without 'type' implies by its other keywords."""
    if "properties" in node or "additionalProperties" in node:
        return ["object"]
    if "items" in node or "prefixItems" in node:
        return ["array"]
    if "enum" in node:
        vals = node["enum"] if isinstance(node["enum"], list) else []
        kinds = {json_type(v) for v in vals}
        return sorted(kinds) if kinds else []
    if "const" in node:
        return [json_type(node["const"])]
    if "pattern" in node or "format" in node or "minLength" in node:
        return ["string"]
    if any(k in node for k in NUMERIC):
        return ["number"]
    return []


def json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    return "array" if isinstance(value, list) else "object"


def length_text(lo: Any, hi: Any, unit: str) -> str:
    if lo is not None and hi is not None:
        return f"Between {lo} and {hi} {unit}."
    return f"At least {lo} {unit}." if lo is not None else f"At most {hi} {unit}."


def make_nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """Allow null in a strict schema (how strict mode spells 'optional')."""
    schema = dict(schema)
    if "anyOf" in schema:
        if {"type": "null"} not in schema["anyOf"]:
            schema["anyOf"] = [*schema["anyOf"], {"type": "null"}]
        return schema
    if "const" in schema:
        const = {k: v for k, v in schema.items() if k != "description"}
        out = {"anyOf": [const, {"type": "null"}]}
        if "description" in schema:
            out = {"description": schema["description"], **out}
        return out
    kind = schema.get("type")
    if isinstance(kind, str) and kind != "null":
        schema["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        schema["type"] = [*kind, "null"]
    if "enum" in schema and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]
    return schema
