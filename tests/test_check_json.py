"""The json check: arguments must be a strict JSON object string."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from checkkit import (
    answer,
    assert_rejected,
    calls,
    result,
    sample,
    user,
    weather,
)

from forge_batch.records import Sample

REJECTS: list[tuple[str, str, Callable[[], Sample]]] = [
    ("arguments not JSON", "json", lambda: weather("{'city': 'Paris'}")),
    ("NaN in arguments", "json", lambda: weather('{"city": "Paris", "days": NaN}')),
    ("arguments an array", "json", lambda: weather('["Paris"]')),
    (
        "arguments a dict, not a string",
        "json",
        lambda: sample(
            [
                user("Weather in Paris?"),
                calls(
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": {"city": "Paris"}},
                    }
                ),
                result("c1", "{}"),
                answer("Sunny in Paris."),
            ]
        ),
    ),
]


@pytest.mark.parametrize(("label", "check", "make"), REJECTS, ids=[r[0] for r in REJECTS])
def test_each_reject_names_its_check(label: str, check: str, make: Callable[[], Sample]) -> None:
    assert check == "json"
    assert_rejected(label, check, make)
