"""The check registry: order and names (a contract), valid samples of every scenario
pass, one validator per distinct schema, every check runs on its own."""

from __future__ import annotations

import copy
import gc
import json
import sys
from typing import Any

import jsonschema
import pytest
from checkkit import (
    GOOD_WEATHER,
    TOOLS,
    failure,
    sample,
    valid,
    weather,
)

from forge_batch import checks
from forge_batch.checks import CheckContext, check_sample
from forge_batch.config import SCENARIOS
from forge_batch.records import Sample


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_valid_sample_of_each_scenario_passes(scenario: str) -> None:
    assert failure(valid(scenario)) is None


def test_a_system_turn_first_is_allowed() -> None:
    s = weather(GOOD_WEATHER)
    s = sample([{"role": "system", "content": "You are helpful."}, *s.messages])
    assert failure(s) is None


def test_check_names_are_the_contract() -> None:
    assert checks.CHECK_ORDER == (
        "roles",
        "hygiene",
        "json",
        "tool",
        "required",
        "unknown_args",
        "schema",
        "grounding",
        "call_count",
    )
    for name in (
        "parse",
        "truncated",
        "refusal",
        "duplicate",
        "synthetic_cap",
        "request_failed",
        *checks.CHECK_ORDER,
    ):
        assert name in checks.all_checks
    assert len(set(checks.all_checks)) == len(checks.all_checks)


def test_one_validator_per_distinct_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = []
    real = jsonschema.validators.validator_for
    ours = {json.dumps(t["function"]["parameters"], sort_keys=True) for t in TOOLS}

    def counting(schema: Any, *args: Any, **kwargs: Any) -> Any:
        text = json.dumps(schema, sort_keys=True)
        # jsonschema also looks up its own meta-schemas, and tools.schema_problem picks
        # the meta-schema of each schema through validator_for: count the check's own
        if text in ours and sys._getframe(1).f_code.co_name == "_compile":
            compiled.append(text)
        return real(schema, *args, **kwargs)

    monkeypatch.setattr(jsonschema.validators, "validator_for", counting)
    ctx = CheckContext.build()
    for i in range(50):
        tools = copy.deepcopy(TOOLS)  # new objects, as when read back from a file
        if i % 2:  # same schema, other key order: still the same validator
            params = tools[0]["function"]["parameters"]
            tools[0]["function"]["parameters"] = dict(reversed(list(params.items())))
        s = weather(GOOD_WEATHER)
        assert (
            check_sample(Sample(f"s{i}", "seed", "standard", s.messages, tools, s.meta), ctx)
            is None
        )
    assert ctx.compiled == len(compiled) == 4  # one per tool schema in TOOLS
    assert len(set(compiled)) == 4


def test_the_context_does_not_keep_checked_samples_tools_alive() -> None:
    """Every seed arrives with its own parsed tools list (up to catalogue_size full
    entries); remembering them by identity must not keep thousands alive (at 20k
    responses it held ~120 MB of them until the end of the build)."""
    ctx = CheckContext.build()
    marker = "fb-test-alive"
    for i in range(300):
        tools = copy.deepcopy(TOOLS)
        for entry in tools:
            entry[marker] = i
        s = weather(GOOD_WEATHER)
        assert (
            check_sample(Sample(f"s{i}", "seed", "standard", s.messages, tools, s.meta), ctx)
            is None
        )
        del tools, s
    gc.collect()
    alive = sum(1 for o in gc.get_objects() if type(o) is dict and marker in o)
    assert ctx.compiled == 4
    assert alive <= 64 * len(TOOLS), alive


def test_checks_run_on_their_own_without_crashing() -> None:
    bad = weather("{not json")
    ctx = CheckContext.build()
    for _name, fn in checks.CHECKS:
        fn(bad, ctx)  # later checks skip calls the earlier ones reject
