"""The fast meta-schema check (tools/meta_fast.py) never changes a verdict.

schema_problem answers "valid" from meta_fast for schemas using the common
keywords and asks jsonschema for everything else. These tests hold it to
jsonschema's own answer (``_reference``, the check as it was before
meta_fast) on generated schemas, on every one-keyword mutation of real tool
schemas, and check that real tool sets never reach jsonschema's slow path.
"""

from __future__ import annotations

import copy
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest
from conftest import SHARED, TESTS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forge_batch.errors import ToolsError
from forge_batch.tools import load_tools, meta_fast, schema_problem
from forge_batch.tools.schema import _meta_validator, _schema_problem, _schema_problem_of

_spec = importlib.util.spec_from_file_location("bench_common", TESTS.parent / "bench/_common.py")
assert _spec and _spec.loader
_bench = sys.modules["bench_common"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_bench)
synth_tools = _bench.synth_tools  # the benchmark's 5,000-tool set, in small

DATA = TESTS / "data"
D2020 = "https://json-schema.org/draft/2020-12/schema"
D7 = "http://json-schema.org/draft-07/schema#"
DEFINED = sorted(set().union(*(r.defined for r in meta_fast.RULES.values())))
# Values that break some keyword's rule (or are fine for it): wrong types, negative and
# fractional counts, bad regexes, unknown type names, duplicates, URIs with fragments.
ATOMS = [
    0, 1, 2, -1, 1.0, 0.5, -0.5, 0.0, True, False, None, "", "a", "(", "[a-", "^[a-z]+$",
    "string", "strng", "integer", "null", "object", "#", "#/x", "a#b", "#anchor",
    "http://example.com/s", "x y", "meta",
]  # fmt: skip
LISTS = [[], ["a"], ["a", "a"], ["a", "b"], ["string", "null"], ["string", "string"], [1], [{}]]


def _reference(schema: Any) -> str | None:
    """schema_problem as it was before meta_fast: jsonschema on the canonical (sorted) form."""
    return _schema_problem(orjson.loads(orjson.dumps(schema, option=orjson.OPT_SORT_KEYS)))


def _reference_agrees(schema: Any) -> tuple[bool, str | None]:
    """meta_fast's answer, after asserting it and schema_problem agree with jsonschema."""
    expected = _reference(schema)
    fast = meta_fast.certainly_valid(_meta_validator(schema), schema)
    assert not (fast and expected), (schema, expected)
    assert schema_problem(schema) == expected, schema
    return fast, expected


def test_both_drafts_have_the_fast_path() -> None:
    assert set(meta_fast.RULES) == {jsonschema.Draft202012Validator, jsonschema.Draft7Validator}
    for rules in meta_fast.RULES.values():
        assert set(rules.table) <= rules.defined
        assert {"type", "properties", "items", "required", "enum", "anyOf"} <= set(rules.table)


# -- generated schemas -------------------------------------------------------------

atoms = st.sampled_from(ATOMS)
keys = st.sampled_from([*DEFINED, "x-extra", "nullable", "example"])
names = st.sampled_from(["a", "b", "c"])
counts = st.integers(0, 5)
numbers = st.sampled_from([0, 1, -3, 2.5, 1e9])
# Well-formed values for the keywords tool schemas use, so that most generated schemas
# are valid and meta_fast answers for them.
GOOD: dict[str, st.SearchStrategy[Any]] = {
    "type": st.sampled_from(["string", "integer", "number", "object", "array", ["string", "null"]]),
    "description": st.sampled_from(["", "The city.", "x" * 40]),
    "title": st.just("T"),
    "enum": st.lists(atoms, max_size=3),
    "const": atoms,
    "default": atoms,
    "examples": st.lists(atoms, max_size=2),
    "format": st.sampled_from(["date", "email", "uri", "made-up"]),
    "pattern": st.sampled_from(["^[a-z]+$", "\\d{3}", "a|b"]),
    "minimum": numbers,
    "maximum": numbers,
    "exclusiveMinimum": numbers,
    "multipleOf": st.sampled_from([1, 0.5, 3]),
    "minLength": counts,
    "maxLength": counts,
    "minItems": counts,
    "maxItems": counts,
    "uniqueItems": st.booleans(),
    "required": st.lists(names, max_size=3, unique=True),
    "properties": st.deferred(lambda: st.dictionaries(names, schemas, max_size=3)),
    "additionalProperties": st.deferred(lambda: schemas),
    "items": st.deferred(lambda: schemas),
    "anyOf": st.deferred(lambda: st.lists(schemas, min_size=1, max_size=3)),
    "oneOf": st.deferred(lambda: st.lists(schemas, min_size=1, max_size=2)),
    "allOf": st.deferred(lambda: st.lists(schemas, min_size=1, max_size=2)),
    "$defs": st.deferred(lambda: st.dictionaries(names, schemas, max_size=2)),
    "definitions": st.deferred(lambda: st.dictionaries(names, schemas, max_size=2)),
    "$ref": st.sampled_from(["#/$defs/a", "#", "other.json#/x"]),
    "x-extra": atoms,
}
good = st.lists(st.sampled_from(sorted(GOOD)), max_size=4, unique=True).flatmap(
    lambda ks: st.fixed_dictionaries({k: GOOD[k] for k in ks})
)
values = st.deferred(
    lambda: st.one_of(
        atoms,
        st.sampled_from(LISTS),
        schemas,
        st.lists(schemas, max_size=3),
        st.dictionaries(st.sampled_from(["a", "b", "(", "^x"]), schemas, max_size=3),
        st.dictionaries(st.sampled_from(["a", "b"]), st.sampled_from(LISTS), max_size=2),
    )
)
junk = st.one_of(st.dictionaries(keys, values, max_size=3), atoms)
# One node in ~nine is junk: any keyword with any value.
schemas = st.one_of(st.booleans(), *[good] * 8, junk)
roots = st.tuples(st.sampled_from([None, D2020, D7, "http://json-schema.org/draft-04/schema#"]),
                  schemas)  # fmt: skip


def test_generated_schemas_get_jsonschemas_verdict() -> None:
    seen = {"fast": 0, "valid": 0, "invalid": 0}

    @settings(
        max_examples=800,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(roots)
    def one(root: tuple[str | None, Any]) -> None:
        uri, schema = root
        if uri and isinstance(schema, dict):
            schema = {"$schema": uri, **schema}
        fast, expected = _reference_agrees(schema)
        seen["fast"] += fast
        seen["invalid" if expected else "valid"] += 1

    one()
    # The generator reaches all three outcomes often enough for the test to mean something.
    assert min(seen.values()) >= 50, seen


# -- real schemas, each mutated one keyword at a time ----------------------------------


def _real_schemas() -> list[dict[str, Any]]:
    found = [t["inputSchema"] for t in synth_tools(60)]
    found += [t["outputSchema"] for t in synth_tools(60) if "outputSchema" in t]
    paths = sorted(DATA.glob("*.json")) + sorted((SHARED / "examples").glob("*.json"))
    for path in paths:
        try:
            toolset = load_tools(path)
        except ToolsError:  # not a tools file
            continue
        found += [t.parameters for t in toolset.tools]
    return found


def _nodes(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from _nodes(value)


def test_real_schemas_take_the_fast_path() -> None:
    schemas = _real_schemas()
    assert len(schemas) > 80
    for schema in schemas:
        fast, expected = _reference_agrees(schema)
        assert fast and expected is None, schema
        for uri in (D2020, D7):
            assert _reference_agrees({"$schema": uri, **schema}) == (True, None)


@pytest.mark.parametrize("draft", [None, D7])
def test_every_one_keyword_mutation_gets_jsonschemas_verdict(draft: str | None) -> None:
    invalid = 0
    for schema in _real_schemas()[:: 6 if draft else 3][:14]:
        schema = {"$schema": draft, **schema} if draft else schema
        for i, node in enumerate(_nodes(schema)):
            for key in [k for k in node if k in DEFINED]:
                for value in ATOMS[i % 4 :: 4] + LISTS[i % 2 :: 2]:
                    mutated = copy.deepcopy(schema)
                    target = list(_nodes(mutated))[i]
                    target[key] = value
                    invalid += _reference_agrees(mutated)[1] is not None
    assert invalid > 200, invalid


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        ({"type": "object", "properties": {"a": {"type": "strng"}}}, "at properties/a/type"),
        ({"type": "string", "pattern": "(["}, "at pattern: '([' is not a 'regex'"),
        ({"patternProperties": {"([": {}}}, "at patternProperties"),
        ({"required": ["a", "a"]}, "at required: ['a', 'a'] has non-unique elements"),
        ({"minLength": -1}, "at minLength: -1 is less than the minimum of 0"),
        ({"minLength": 1.0}, None),  # an integer to jsonschema; meta_fast defers
        ({"multipleOf": 0}, "at multipleOf: 0 is less than or equal to the minimum of 0"),
        ({"type": "array", "items": [{"type": "string"}]}, "at items: [{'type': 'string'}]"),
        ({"$schema": D7, "type": "array", "items": [{"type": "string"}]}, None),
        ({"$schema": 7}, "at $schema: 7 is not of type 'string'"),
        ({"$schema": ["x"]}, "at $schema: ['x'] is not of type 'string'"),
        ({"$id": "a#b"}, "at $id: 'a#b' does not match"),
        ({"$anchor": "1x"}, "at $anchor: '1x' does not match"),
        ({"x-anything": {"type": 5}, "nullable": "yes"}, None),  # not meta-schema keywords
        ({"anyOf": []}, "at anyOf: [] should be non-empty"),
        ({"type": ["string", "string"]}, "at type: ['string', 'string'] is not valid"),
        ({"properties": {"a": 5}}, "at properties/a: 5 is not of type 'object', 'boolean'"),
        ({"items": {"items": {"type": "strng"}}}, "at items/items/type"),
        ({"enum": "a"}, "at enum: 'a' is not of type 'array'"),
        ({"$ref": 5}, "at $ref: 5 is not of type 'string'"),
        ({"description": 5}, "at description: 5 is not of type 'string'"),
        ({"uniqueItems": "yes"}, "at uniqueItems: 'yes' is not of type 'boolean'"),
        ({"maxItems": True}, "at maxItems: True is not of type 'integer'"),
        ({"dependentRequired": {"a": ["b", "b"]}}, "at dependentRequired/a"),
        ({"dependencies": {"a": ["b", 1]}}, "at dependencies/a"),
    ],
)
def test_verdicts_and_messages(schema: dict[str, Any], problem: str | None) -> None:
    got = schema_problem(schema)
    assert got == _reference(schema)
    if problem is None:
        assert got is None
    else:
        assert got is not None and problem in got, got


def test_loading_common_schemas_never_reaches_jsonschema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Any] = []
    _schema_problem_of.cache_clear()  # nothing answered from an earlier test's slow path
    for cls in meta_fast.RULES:
        monkeypatch.setattr(cls, "check_schema", classmethod(lambda c, s: calls.append(s)))
    path = tmp_path / "tools.json"
    path.write_bytes(orjson.dumps({"tools": synth_tools(300)}))
    assert len(load_tools(path).tools) == 300
    assert calls == []
