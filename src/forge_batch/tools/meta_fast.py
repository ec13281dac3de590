"""A fast, one-sided answer to "is this schema valid against its meta-schema?".

jsonschema's meta-validation of a typical tool schema costs 2-6 ms (the 2020-12
meta-schema is seven vocabularies joined by ``$dynamicRef``, resolved again at
every node), so loading 5,000 tools spent ~8 s there. The keywords tool schemas
use are few and their meta-schema rules simple (a string, a non-negative
integer, a map of schemas, ...), so this module checks those rules by hand.

It only ever says "certainly valid" (True) or "ask jsonschema" (False): any
keyword the meta-schema defines that is not in the table below, and any value
that does not pass a rule, is left to jsonschema, which then gives the verdict
and the error text. Keywords the meta-schema does not define are unconstrained
by it and are accepted. Format checks ("regex", "uri", "uri-reference") go
through the draft's own FormatChecker, so they are exactly as strict as
jsonschema's; types are checked more narrowly than jsonschema's (an integer
must be an ``int``, not ``1.0``), which only sends more cases to jsonschema.

Which keywords a draft's meta-schema defines is read from the meta-schema
itself; if its top level ever uses something that could constrain other
keywords, the fast path is turned off for that draft (``RULES`` lacks it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin

import jsonschema
from jsonschema_specifications import REGISTRY

Check = Callable[[Any], bool]

_SIMPLE_TYPES = frozenset(("array", "boolean", "integer", "null", "number", "object", "string"))
# Keywords a meta-schema's top level may use without constraining the keywords
# it does not list under "properties".
_HARMLESS_TOP = frozenset(
    (
        "$schema",
        "$id",
        "$vocabulary",
        "$dynamicAnchor",
        "$comment",
        "$defs",
        "definitions",
        "title",
        "allOf",
        "type",
        "properties",
        "default",
    )
)


class Rules:
    """The hand-written keyword rules of one draft, and the keywords its meta-schema defines."""

    def __init__(self, cls: type[jsonschema.protocols.Validator], defined: frozenset[str]) -> None:
        self.defined = defined
        self._conforms = cls.FORMAT_CHECKER.conforms
        self.table: dict[str, Check] = {}

    def schema(self, node: Any) -> bool:
        """True when ``node`` is certainly a valid (sub-)schema under this draft."""
        if node is True or node is False:
            return True
        if type(node) is not dict:
            return False
        table = self.table
        for key, value in node.items():
            check = table.get(key)
            if check is None:
                if key in self.defined:
                    return False  # a keyword with rules not written here
                continue
            if not check(value):
                return False
        return True

    def schema_map(self, value: Any) -> bool:
        return type(value) is dict and all(self.schema(v) for v in value.values())

    def schema_array(self, value: Any) -> bool:
        return type(value) is list and len(value) > 0 and all(self.schema(v) for v in value)

    def regex(self, value: Any) -> bool:
        return type(value) is str and self._conforms(value, "regex")

    def pattern_map(self, value: Any) -> bool:
        return self.schema_map(value) and all(self._conforms(k, "regex") for k in value)

    def uri(self, value: Any) -> bool:
        return type(value) is str and self._conforms(value, "uri")

    def uri_reference(self, value: Any) -> bool:
        return type(value) is str and self._conforms(value, "uri-reference")


def _string(value: Any) -> bool:
    return type(value) is str


def _boolean(value: Any) -> bool:
    return type(value) is bool


def _number(value: Any) -> bool:
    return type(value) is int or type(value) is float


def _positive(value: Any) -> bool:
    return _number(value) and value > 0


def _count(value: Any) -> bool:
    return type(value) is int and value >= 0


def _array(value: Any) -> bool:
    return type(value) is list


def _anything(value: Any) -> bool:
    return True


def _string_array(value: Any) -> bool:
    return (
        type(value) is list and all(type(v) is str for v in value) and len(set(value)) == len(value)
    )


def _types(value: Any) -> bool:
    if type(value) is str:
        return value in _SIMPLE_TYPES
    return (
        type(value) is list
        and len(value) > 0
        and all(type(v) is str and v in _SIMPLE_TYPES for v in value)
        and len(set(value)) == len(value)
    )


_COMMON: dict[str, Check] = {
    "type": _types,
    "enum": _array,
    "const": _anything,
    "default": _anything,
    "examples": _array,
    "title": _string,
    "description": _string,
    "$comment": _string,
    "format": _string,
    "contentEncoding": _string,
    "contentMediaType": _string,
    "readOnly": _boolean,
    "uniqueItems": _boolean,
    "multipleOf": _positive,
    "minimum": _number,
    "maximum": _number,
    "exclusiveMinimum": _number,
    "exclusiveMaximum": _number,
    "minLength": _count,
    "maxLength": _count,
    "minItems": _count,
    "maxItems": _count,
    "minProperties": _count,
    "maxProperties": _count,
    "required": _string_array,
}

_ID_2020 = re.compile(r"^[^#]*#?$")


def _common(r: Rules) -> dict[str, Check]:
    return {
        **_COMMON,
        "properties": r.schema_map,
        "patternProperties": r.pattern_map,
        "additionalProperties": r.schema,
        "propertyNames": r.schema,
        "contains": r.schema,
        "not": r.schema,
        "if": r.schema,
        "then": r.schema,
        "else": r.schema,
        "allOf": r.schema_array,
        "anyOf": r.schema_array,
        "oneOf": r.schema_array,
        "definitions": r.schema_map,
        "dependencies": lambda v: (
            type(v) is dict
            and all(_string_array(d) if type(d) is list else r.schema(d) for d in v.values())
        ),
        "pattern": r.regex,
        "$schema": r.uri,
        "$ref": r.uri_reference,
    }


def _draft202012(r: Rules) -> dict[str, Check]:
    return {
        **_common(r),
        "items": r.schema,
        "prefixItems": r.schema_array,
        "unevaluatedItems": r.schema,
        "unevaluatedProperties": r.schema,
        "dependentSchemas": r.schema_map,
        "dependentRequired": lambda v: type(v) is dict and all(map(_string_array, v.values())),
        "contentSchema": r.schema,
        "$defs": r.schema_map,
        "$id": lambda v: r.uri_reference(v) and _ID_2020.search(v) is not None,
        "writeOnly": _boolean,
        "deprecated": _boolean,
        "minContains": _count,
        "maxContains": _count,
    }


def _draft7(r: Rules) -> dict[str, Check]:
    return {
        **_common(r),
        "items": lambda v: r.schema_array(v) if type(v) is list else r.schema(v),
        "additionalItems": r.schema,
        "$id": r.uri_reference,
    }


def _defined(meta: dict[str, Any]) -> frozenset[str] | None:
    """The keywords ``meta`` (and the vocabularies its allOf names) define, or None when a
    top level could constrain keywords it does not name (the fast path is then unsafe)."""
    names: set[str] = set()
    todo = [meta]
    while todo:
        schema = todo.pop()
        if not set(schema) <= _HARMLESS_TOP:
            return None
        names.update(schema.get("properties", {}))
        for sub in schema.get("allOf", []):
            if set(sub) != {"$ref"}:
                return None
            try:
                todo.append(REGISTRY.contents(urljoin(schema["$id"], sub["$ref"])))
            except LookupError:  # a vocabulary this jsonschema does not ship: no fast path
                return None
    return frozenset(names)


def _rules() -> dict[type, Rules]:
    found: dict[type, Rules] = {}
    for cls, table in (
        (jsonschema.Draft202012Validator, _draft202012),
        (jsonschema.Draft7Validator, _draft7),
    ):
        defined = _defined(cls.META_SCHEMA)
        if defined is None:
            continue
        rules = Rules(cls, defined)
        rules.table = {k: v for k, v in table(rules).items() if k in defined}
        found[cls] = rules
    return found


RULES: dict[type, Rules] = _rules()


def certainly_valid(cls: type, schema: Any) -> bool:
    """True when ``schema`` is valid against ``cls``'s meta-schema; False means "ask jsonschema"."""
    rules = RULES.get(cls)
    return rules is not None and rules.schema(schema)
