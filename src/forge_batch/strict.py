"""Convert a tool's JSON Schema to OpenAI's strict Structured Outputs subset, and back.

Strict mode only accepts objects with ``additionalProperties: false`` that list
every property as required, and a handful of keywords. The conversion keeps
what strict mode can express, moves the meaning of the rest into descriptions,
and returns a *codec* that undoes the two encodings it had to introduce:

* optional properties become nullable; a ``null`` the model writes for one is
  dropped again when parsing;
* free-form values (objects without properties, ``any``, ``{}``) travel as
  JSON-encoded strings and are decoded when parsing,

so a parsed tool call carries the real types of the original schema, and is
validated against that original schema, not the strict one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
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


JSON = "json"  # codec leaf: the value is a JSON-encoded string to decode


@dataclass(frozen=True, slots=True)
class ObjCodec:
    """Object: drop nulls of ``optional`` keys, decode ``props`` that need it."""

    props: dict[str, Any] = field(default_factory=dict)
    optional: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ArrCodec:
    items: Any


@dataclass(frozen=True, slots=True)
class AnyCodec:
    """anyOf: the branch is chosen by the shape of the value."""

    branches: tuple[Any, ...]


Codec = None | str | ObjCodec | ArrCodec | AnyCodec


@dataclass(frozen=True, slots=True)
class Conversion:
    schema: dict[str, Any]
    codec: Codec
    notes: tuple[str, ...]


class DecodeError(ValueError):
    """A JSON-encoded free-form value did not parse."""


def decode(value: Any, codec: Codec) -> Any:
    """Undo the strict encoding: drop optional nulls, decode JSON strings."""
    if codec is None:
        return value
    if codec is JSON:
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError as exc:
            raise DecodeError(f"free-form value is not valid JSON: {value[:60]!r}") from exc
    if isinstance(codec, ObjCodec):
        if not isinstance(value, dict):
            return value
        out = {}
        for k, v in value.items():
            if v is None and k in codec.optional:
                continue
            sub = codec.props.get(k)
            out[k] = v if sub is None else decode(v, sub)
        return out
    if isinstance(codec, ArrCodec):
        return [decode(v, codec.items) for v in value] if isinstance(value, list) else value
    if isinstance(codec, AnyCodec):
        for branch in codec.branches:
            if isinstance(branch, ObjCodec) and isinstance(value, dict):
                if set(value) <= set(branch.props) | branch.optional or not branch.props:
                    return decode(value, branch)
            elif isinstance(branch, ArrCodec) and isinstance(value, list):
                return decode(value, branch)
        return value
    raise TypeError(f"unknown codec {codec!r}")


def _json_default(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _describe(parts: list[str]) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())


class _Converter:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.notes: list[str] = []
        self.properties = 0
        self.enum_values = 0

    def note(self, path: str, text: str) -> None:
        self.notes.append(f"{path or '(root)'}: {text}")

    # -- references -------------------------------------------------------
    def resolve(
        self, node: dict[str, Any], path: str, stack: tuple[str, ...]
    ) -> tuple[dict, tuple]:
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#"):
                raise Unconvertible(
                    f"{path or '(root)'}: only local $ref are supported, got {ref!r}"
                )
            if ref in stack:
                chain = " -> ".join([*stack[stack.index(ref) :], ref])
                raise Unconvertible(
                    f"{path or '(root)'}: recursive $ref ({chain}); "
                    "a recursive schema has no bounded strict form"
                )
            if len(stack) >= 32:
                raise Unconvertible(f"{path or '(root)'}: $ref chain deeper than 32")
            target: Any = self.root
            for part in ref[1:].split("/")[1:] if ref != "#" else []:
                part = part.replace("~1", "/").replace("~0", "~")
                if isinstance(target, dict) and part in target:
                    target = target[part]
                elif isinstance(target, list) and part.isdigit() and int(part) < len(target):
                    target = target[int(part)]
                else:
                    raise Unconvertible(f"{path or '(root)'}: $ref {ref!r} points nowhere")
            extra = {k: v for k, v in node.items() if k != "$ref"}
            node = {**target, **extra} if isinstance(target, dict) else target
            stack = (*stack, ref)
        if node is True:
            node = {}
        if not isinstance(node, dict):
            raise Unconvertible(f"{path or '(root)'}: a schema must be an object, got {node!r}")
        return node, stack

    # -- one node -----------------------------------------------------------
    def convert(
        self, node: Any, path: str, depth: int, stack: tuple[str, ...] = ()
    ) -> tuple[dict, Codec]:
        node, stack = self.resolve(node, path, stack)
        node = dict(node)
        desc: list[str] = [node.pop("description", "") or ""]
        if not isinstance(desc[0], str):
            desc = [json.dumps(desc[0])]
        if not desc[0] and isinstance(node.get("title"), str):
            desc = [node["title"]]
        for key in SILENT & node.keys():
            node.pop(key)
        node.pop("$defs", None)
        node.pop("definitions", None)

        if "allOf" in node:
            node = self.merge_all_of(node, path, stack)
        if "oneOf" in node:
            node["anyOf"] = node.pop("oneOf")
            self.note(path, "oneOf rewritten as anyOf (exactly-one is not enforced)")
        if "default" in node:
            desc.append(f"Default: {_json_default(node.pop('default'))}.")
            self.note(path, "default moved into the description")
        for key in (
            "not",
            "if",
            "then",
            "else",
            "dependentRequired",
            "dependentSchemas",
            "dependencies",
        ):
            if key in node:
                node.pop(key)
                self.note(path, f"{key} dropped (not expressible in strict mode)")
        nullable = bool(node.pop("nullable", False))

        if "anyOf" in node:
            schema, codec = self.any_of(node, path, depth, stack)
        else:
            types = node.get("type")
            if isinstance(types, str):
                types = [types]
            elif types is None:
                types = self.infer_types(node)
            elif not isinstance(types, list) or not all(isinstance(t, str) for t in types):
                raise Unconvertible(
                    f"{path or '(root)'}: type must be a string or a list of strings"
                )
            if "null" in types:
                nullable = True
                types = [t for t in types if t != "null"]
            if not types:
                schema, codec = self.free(path, desc) if not nullable else ({"type": "null"}, None)
            elif len(types) == 1:
                schema, codec = self.typed(types[0], node, path, depth, stack, desc)
            else:
                branches = []
                codecs = []
                for t in types:
                    s, c = self.typed(t, node, path, depth, stack, [])
                    branches.append(s)
                    codecs.append(c)
                if any(c is JSON for c in codecs):
                    schema, codec = self.free(path, desc)
                else:
                    schema = {"anyOf": branches}
                    codec = AnyCodec(tuple(codecs)) if any(codecs) else None
        text = _describe(desc)
        if text and "description" not in schema:
            schema = (
                {**schema, "description": text}
                if "anyOf" not in schema
                else {"description": text, **schema}
            )
        if nullable:
            schema = make_nullable(schema)
        return schema, codec

    def infer_types(self, node: dict[str, Any]) -> list[str]:
        if "properties" in node or "additionalProperties" in node:
            return ["object"]
        if "items" in node or "prefixItems" in node:
            return ["array"]
        if "enum" in node:
            vals = node["enum"] if isinstance(node["enum"], list) else []
            kinds = {_json_type(v) for v in vals}
            return sorted(kinds) if kinds else []
        if "const" in node:
            return [_json_type(node["const"])]
        if "pattern" in node or "format" in node or "minLength" in node:
            return ["string"]
        if any(k in node for k in NUMERIC):
            return ["number"]
        return []

    def merge_all_of(self, node: dict[str, Any], path: str, stack: tuple[str, ...]) -> dict:
        parts = node.pop("allOf")
        if not isinstance(parts, list):
            raise Unconvertible(f"{path or '(root)'}: allOf must be a list")
        merged: dict[str, Any] = dict(node)
        for i, part in enumerate(parts):
            part, _ = self.resolve(part, f"{path}.allOf[{i}]", stack)
            for key, value in part.items():
                if key == "properties":
                    merged.setdefault("properties", {})
                    merged["properties"] = {**merged["properties"], **value}
                elif key == "required":
                    merged["required"] = sorted(set(merged.get("required", [])) | set(value))
                elif key == "description":
                    merged["description"] = _describe([merged.get("description", ""), value])
                elif key in merged and merged[key] != value:
                    raise Unconvertible(f"{path or '(root)'}: allOf parts disagree on {key!r}")
                else:
                    merged[key] = value
        self.note(path, "allOf merged into one schema")
        return merged

    def any_of(
        self, node: dict[str, Any], path: str, depth: int, stack: tuple[str, ...]
    ) -> tuple[dict, Codec]:
        options = node["anyOf"]
        if not isinstance(options, list) or not options:
            raise Unconvertible(f"{path or '(root)'}: anyOf must be a non-empty list")
        branches, codecs, nullable = [], [], False
        for i, option in enumerate(options):
            option, _ = self.resolve(option, f"{path}.anyOf[{i}]", stack)
            if option.get("type") == "null":
                nullable = True
                continue
            s, c = self.convert(option, f"{path}.anyOf[{i}]", depth, stack)
            branches.append(s)
            codecs.append(c)
        if any(c is JSON for c in codecs):
            return self.free(path, [])
        if not branches:
            return {"type": "null"}, None
        schema = branches[0] if len(branches) == 1 else {"anyOf": branches}
        codec: Codec = (
            codecs[0] if len(branches) == 1 else (AnyCodec(tuple(codecs)) if any(codecs) else None)
        )
        return (make_nullable(schema) if nullable else schema), codec

    def free(self, path: str, desc: list[str]) -> tuple[dict, Codec]:
        self.note(path, "free-form value travels as a JSON-encoded string")
        text = _describe([*desc, "A JSON value encoded as a string."])
        return {"type": "string", "description": text}, JSON

    def typed(
        self,
        kind: str,
        node: dict[str, Any],
        path: str,
        depth: int,
        stack: tuple[str, ...],
        desc: list[str],
    ) -> tuple[dict, Codec]:
        if kind == "object":
            return self.obj(node, path, depth, stack, desc)
        if kind == "array":
            return self.arr(node, path, depth, stack, desc)
        if kind not in ("string", "integer", "number", "boolean"):
            raise Unconvertible(f"{path or '(root)'}: unsupported type {kind!r}")
        schema: dict[str, Any] = {"type": kind}
        self.enum_const(node, schema, path)
        if kind == "string":
            if "pattern" in node:
                schema["pattern"] = node["pattern"]
            fmt = node.get("format")
            if fmt in STRING_FORMATS:
                schema["format"] = fmt
            elif fmt is not None:
                desc.append(f"Format: {fmt}.")
                self.note(path, f"format {fmt!r} moved into the description")
            lo, hi = node.get("minLength"), node.get("maxLength")
            if lo is not None or hi is not None:
                desc.append(_length_text(lo, hi, "characters"))
                self.note(path, "minLength/maxLength moved into the description")
        elif kind in ("integer", "number"):
            for key in NUMERIC:
                if key in node:
                    value = node[key]
                    if isinstance(value, bool):  # draft-4 boolean exclusive bounds
                        if value:
                            base = "minimum" if key == "exclusiveMinimum" else "maximum"
                            if base in node:
                                schema[key] = node[base]
                                schema.pop(base, None)
                        continue
                    if key in ("minimum", "maximum") and f"exclusive{key.title()}" in schema:
                        continue
                    schema[key] = value
        return schema, None

    def enum_const(self, node: dict[str, Any], schema: dict[str, Any], path: str) -> None:
        if "enum" in node:
            values = node["enum"]
            if not isinstance(values, list) or not values:
                raise Unconvertible(f"{path or '(root)'}: enum must be a non-empty list")
            self.enum_values += len(values)
            if self.enum_values > MAX_ENUM_VALUES:
                raise Unconvertible(f"more than {MAX_ENUM_VALUES} enum values in total")
            schema["enum"] = list(values)
        if "const" in node:
            schema["const"] = node["const"]

    def obj(
        self, node: dict[str, Any], path: str, depth: int, stack: tuple[str, ...], desc: list[str]
    ) -> tuple[dict, Codec]:
        if depth > MAX_PARAM_DEPTH:
            raise Unconvertible(
                f"{path or '(root)'}: objects nest deeper than {MAX_PARAM_DEPTH} levels"
            )
        props = node.get("properties") or {}
        if not isinstance(props, dict):
            raise Unconvertible(f"{path or '(root)'}: properties must be an object")
        extra = node.get("additionalProperties", True)
        if not props and extra is not False:
            if depth == 1:
                if "additionalProperties" in node:
                    self.note(path, "free-form arguments: only an empty object can be generated")
                return {
                    "type": "object",
                    "properties": {},
                    "required": [],
                    "additionalProperties": False,
                }, None
            if isinstance(extra, dict) and extra:
                desc.append(
                    "A JSON object whose values follow this schema: "
                    + json.dumps(extra, separators=(",", ":"))[:300]
                    + "."
                )
            return self.free(path, desc)
        required = node.get("required") or []
        if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
            raise Unconvertible(f"{path or '(root)'}: required must be a list of names")
        for key in (
            "minProperties",
            "maxProperties",
            "patternProperties",
            "propertyNames",
            "unevaluatedProperties",
        ):
            if key in node:
                self.note(path, f"{key} dropped (not expressible in strict mode)")
        if "additionalProperties" in node and extra is not False and props:
            self.note(path, "additional properties beyond the declared ones are not generated")
        self.properties += len(props)
        if self.properties > MAX_PROPERTIES:
            raise Unconvertible(f"more than {MAX_PROPERTIES} properties in total")
        out_props: dict[str, Any] = {}
        codecs: dict[str, Any] = {}
        optional = []
        for name, sub in props.items():
            sub_path = f"{path}.{name}" if path else name
            s, c = self.convert(sub, sub_path, depth + 1, stack)
            if name not in required:
                s = make_nullable(s)
                optional.append(name)
            out_props[name] = s
            if c is not None:
                codecs[name] = c
        schema = {
            "type": "object",
            "properties": out_props,
            "required": list(out_props),
            "additionalProperties": False,
        }
        codec = ObjCodec(codecs, frozenset(optional)) if (codecs or optional) else None
        return schema, codec

    def arr(
        self, node: dict[str, Any], path: str, depth: int, stack: tuple[str, ...], desc: list[str]
    ) -> tuple[dict, Codec]:
        items = node.get("items")
        prefix = node.get("prefixItems")
        item_path = f"{path}[]"
        if isinstance(items, list) or isinstance(prefix, list):
            positions = prefix if isinstance(prefix, list) else items
            self.note(path, "tuple positions become an array of any of the item types")
            items = {"anyOf": positions} if positions else {}
        if items is None or items is True or items == {}:
            s, c = self.free(item_path, [])
        else:
            s, c = self.convert(items, item_path, depth, stack)
        schema: dict[str, Any] = {"type": "array", "items": s}
        for key in ("minItems", "maxItems"):
            if isinstance(node.get(key), int) and not isinstance(node.get(key), bool):
                schema[key] = node[key]
        if node.get("uniqueItems"):
            desc.append("Items must be unique.")
            self.note(path, "uniqueItems moved into the description")
        for key in ("contains", "minContains", "maxContains", "unevaluatedItems"):
            if key in node:
                self.note(path, f"{key} dropped (not expressible in strict mode)")
        return schema, (ArrCodec(c) if c is not None else None)


def _json_type(value: Any) -> str:
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


def _length_text(lo: Any, hi: Any, unit: str) -> str:
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


def convert(parameters: dict[str, Any]) -> Conversion:
    """Strict form of a tool's parameter schema; raises Unconvertible."""
    if not isinstance(parameters, dict):
        raise Unconvertible("parameters must be a JSON Schema object")
    conv = _Converter(parameters)
    schema, codec = conv.convert(parameters, "", 1)
    if schema.get("type") != "object" or "properties" not in schema:
        raise Unconvertible("parameters must describe an object (type: object)")
    return Conversion(schema, codec, tuple(conv.notes))


def convert_any(schema: dict[str, Any]) -> Conversion:
    """Strict form of any schema (e.g. a tool's output schema), not only an object."""
    conv = _Converter(schema)
    out, codec = conv.convert(schema, "", 1)
    return Conversion(out, codec, tuple(conv.notes))
