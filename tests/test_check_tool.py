"""The tool check: the called tool is offered in the sample, with a valid schema."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from checkkit import (
    EMAIL,
    GOOD_WEATHER,
    assert_rejected,
    exchange,
    sample,
    tool,
    weather,
)

from forge_batch.records import Sample

REJECTS: list[tuple[str, str, Callable[[], Sample]]] = [
    (
        "unknown tool",
        "tool",
        lambda: sample(
            exchange(
                "Weather in Paris?", "get_forecast", {"city": "Paris"}, "{}", "Sunny in Paris."
            )
        ),
    ),
    (
        "tool offered nowhere in the sample",
        "tool",
        lambda: sample(weather(GOOD_WEATHER).messages, tools=[EMAIL]),
    ),
    (
        "tool definition is not JSON Schema",
        "tool",
        lambda: sample(
            weather(GOOD_WEATHER).messages,
            tools=[tool("get_weather", {"type": "object", "required": "city"})],
        ),
    ),
]


@pytest.mark.parametrize(("label", "check", "make"), REJECTS, ids=[r[0] for r in REJECTS])
def test_each_reject_names_its_check(label: str, check: str, make: Callable[[], Sample]) -> None:
    assert check == "tool"
    assert_rejected(label, check, make)
