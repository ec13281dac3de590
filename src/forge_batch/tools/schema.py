"""Is a schema valid JSON Schema? (checklist item 6; shared by loading and the checks)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jsonschema
import orjson


def schema_problem(schema: Any) -> str | None:
    """Why ``schema`` is not valid JSON Schema, or None (checklist item 6).

    Checking against the 2020-12 meta-schema costs ~2 ms a schema, and the same
    tool schemas are checked when loading tools and again by the checks, so
    results are remembered by the schema's canonical JSON.
    """
    try:
        text = orjson.dumps(schema, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return _schema_problem(schema)
    return _schema_problem_of(text)


@lru_cache(maxsize=4096)
def _schema_problem_of(text: bytes) -> str | None:
    return _schema_problem(orjson.loads(text))


def _schema_problem(schema: Any) -> str | None:
    try:
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        return f"not valid JSON Schema at {where}: {exc.message}"
    return None
