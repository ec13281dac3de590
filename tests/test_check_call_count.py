"""The call_count check: the calls fit the scenario."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from checkkit import (
    GOOD_WEATHER,
    assert_rejected,
    sample,
    valid,
    weather,
)

from forge_batch.records import Sample

REJECTS: list[tuple[str, str, Callable[[], Sample]]] = [
    (
        "no_tool with a call",
        "call_count",
        lambda: sample(weather(GOOD_WEATHER).messages, "no_tool"),
    ),
    (
        "ambiguous with a call",
        "call_count",
        lambda: sample(weather(GOOD_WEATHER).messages, "ambiguous"),
    ),
    (
        "parallel with one call",
        "call_count",
        lambda: sample(weather(GOOD_WEATHER).messages, "parallel"),
    ),
    (
        "standard without a call",
        "call_count",
        lambda: sample(valid("no_tool").messages, "standard"),
    ),
    ("error without a call", "call_count", lambda: sample(valid("no_tool").messages, "error")),
    (
        "multi_turn with one user turn",
        "call_count",
        lambda: sample(weather(GOOD_WEATHER).messages, "multi_turn"),
    ),
]


@pytest.mark.parametrize(("label", "check", "make"), REJECTS, ids=[r[0] for r in REJECTS])
def test_each_reject_names_its_check(label: str, check: str, make: Callable[[], Sample]) -> None:
    assert check == "call_count"
    assert_rejected(label, check, make)
