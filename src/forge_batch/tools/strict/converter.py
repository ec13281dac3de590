"""Convert a tool's JSON Schema to OpenAI's strict Structured Outputs subset.

Keeps what strict mode can express, moves the meaning of the rest into
descriptions (with a note for ``tools check``), and builds the codec that
undoes the encodings it had to introduce (see ``codec``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .codec import JSON, AnyCodec, ArrCodec, Codec, ObjCodec
from .refs import resolve
from .rules import (
    MAX_ENUM_VALUES,
    MAX_PARAM_DEPTH,
    MAX_PROPERTIES,
    NUMERIC,
    SILENT,
    STRING_FORMATS,
    Unconvertible,
    describe,
    infer_types,
    json_default,
    length_text,
    make_nullable,
)


@dataclass(frozen=True, slots=True)
class Conversion:
    schema: dict[str, Any]
    codec: Codec
    notes: tuple[str, ...]


class _Converter:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.notes: list[str] = []
        self.properties = 0
        self.enum_values = 0
        self.closed: list[str] = []  # objects given additionalProperties: false
        self.nullable: list[str] = []  # optional properties made required and nullable

    def note(self, path: str, text: str) -> None:
        self.notes.append(f"{path or '(root)'}: {text}")

    # -- references -------------------------------------------------------
    def resolve(
        self, node: dict[str, Any], path: str, stack: tuple[str, ...]
    ) -> tuple[dict, tuple]:
        return resolve(self.root, node, path, stack)

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
            desc.append(f"Default: {json_default(node.pop('default'))}.")
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
                types = infer_types(node)
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
        text = describe(desc)
        if text and "description" not in schema:
            schema = (
                {**schema, "description": text}
                if "anyOf" not in schema
                else {"description": text, **schema}
            )
        if nullable:
            schema = make_nullable(schema)
        return schema, codec

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
                    merged["description"] = describe([merged.get("description", ""), value])
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
        text = describe([*desc, "A JSON value encoded as a string."])
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
                desc.append(length_text(lo, hi, "characters"))
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
                else:
                    self.closed.append(path or "(root)")
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
        elif "additionalProperties" not in node:
            self.closed.append(path or "(root)")
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
                self.nullable.append(sub_path)
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

    def summary(self) -> tuple[str, ...]:
        """The notes, with the two rewrites strict mode always needs said once each."""
        notes = list(self.notes)
        if self.closed:
            notes.append(f"additionalProperties: false added to {_names(self.closed)}")
        if self.nullable:
            notes.append(
                f"optional properties made required and nullable: {_names(self.nullable)} "
                "(a null is dropped again when parsing)"
            )
        return tuple(notes)

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


def convert(parameters: dict[str, Any]) -> Conversion:
    """Strict form of a tool's parameter schema; raises Unconvertible."""
    if not isinstance(parameters, dict):
        raise Unconvertible("parameters must be a JSON Schema object")
    conv = _Converter(parameters)
    schema, codec = conv.convert(parameters, "", 1)
    if schema.get("type") != "object" or "properties" not in schema:
        raise Unconvertible("parameters must describe an object (type: object)")
    return Conversion(schema, codec, conv.summary())


def convert_any(schema: dict[str, Any]) -> Conversion:
    """Strict form of any schema (e.g. a tool's output schema), not only an object."""
    conv = _Converter(schema)
    out, codec = conv.convert(schema, "", 1)
    return Conversion(out, codec, conv.summary())


def _names(paths: list[str], shown: int = 6) -> str:
    more = len(paths) - shown
    return ", ".join(paths[:shown]) + (f" and {more} more" if more > 0 else "")
