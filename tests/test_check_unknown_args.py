"""The unknown_args check: no undeclared argument unless the schema allows extra ones."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from checkkit import (
    assert_rejected,
    exchange,
    failure,
    sample,
    tool,
    weather,
)

from forge_batch.records import Sample

REJECTS: list[tuple[str, str, Callable[[], Sample]]] = [
    (
        "undeclared argument",
        "unknown_args",
        lambda: weather({"city": "Paris", "country": "France"}),
    ),
]


@pytest.mark.parametrize(("label", "check", "make"), REJECTS, ids=[r[0] for r in REJECTS])
def test_each_reject_names_its_check(label: str, check: str, make: Callable[[], Sample]) -> None:
    assert check == "unknown_args"
    assert_rejected(label, check, make)


def test_undeclared_arguments_pass_when_the_schema_allows_them() -> None:
    for params in (
        {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "additionalProperties": True,
        },
        {"type": "object", "properties": {"city": {"type": "string"}}, "additionalProperties": {}},
        {"type": "object"},  # declares nothing: free-form
    ):
        s = sample(
            exchange(
                "Weather in Paris, France?",
                "get_weather",
                {"city": "Paris", "country": "France"},
                "{}",
                "Sunny in Paris.",
            ),
            tools=[tool("get_weather", params)],
        )
        assert failure(s) is None, params
    # properties declared, additionalProperties absent: closed (as BFCL judges)
    s = sample(
        exchange(
            "Weather in Paris, France?",
            "get_weather",
            {"city": "Paris", "country": "France"},
            "{}",
            "Sunny in Paris.",
        ),
        tools=[tool("get_weather", {"type": "object", "properties": {"city": {"type": "string"}}})],
    )
    assert failure(s) == ("unknown_args", "call 0 (get_weather): unknown argument 'country'")
