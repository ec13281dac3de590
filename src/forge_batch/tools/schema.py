"""Is a schema valid JSON Schema? (checklist item 6; shared by loading and the checks)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jsonschema
import orjson

from .meta_fast import certainly_valid


def schema_problem(schema: Any) -> str | None:
    """Why ``schema`` is not valid JSON Schema, or None (checklist item 6).

    The meta-schema is the one the schema's own ``$schema`` names, 2020-12 when
    it names none (what MCP specifies). jsonschema's meta-validation costs 2-6 ms
    a schema (5,000 tools took 8 s to load), so a schema is first checked by
    meta_fast, which takes ~5 us a schema using only the common keywords and can
    only answer "valid". Everything else, and every "invalid" with its error
    text, comes from jsonschema; those results are remembered by the schema's
    canonical JSON, since the checks ask again about the schemas loading asked.
    """
    if certainly_valid(_meta_validator(schema), schema):
        return None
    try:
        text = orjson.dumps(schema, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return _schema_problem(schema)
    return _schema_problem_of(text)


def _meta_validator(schema: Any) -> type[jsonschema.protocols.Validator]:
    """The validator class whose meta-schema judges ``schema`` (2020-12 by default).

    A ``$schema`` that is not a string gets the default, whose meta-schema refuses
    it (jsonschema's validator_for raised on one, a traceback instead of a reason).
    """
    if not isinstance(schema, dict) or not isinstance(schema.get("$schema", ""), str):
        return jsonschema.Draft202012Validator
    return jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)


@lru_cache(maxsize=4096)
def _schema_problem_of(text: bytes) -> str | None:
    return _schema_problem(orjson.loads(text))


def _schema_problem(schema: Any) -> str | None:
    """jsonschema's verdict (the reference meta_fast must agree with)."""
    try:
        _meta_validator(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        return f"not valid JSON Schema at {where}: {exc.message}"
    return None
