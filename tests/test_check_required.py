"""The required check: required arguments are present."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from checkkit import (
    assert_rejected,
    weather,
)

from forge_batch.records import Sample

REJECTS: list[tuple[str, str, Callable[[], Sample]]] = [
    ("missing required argument", "required", lambda: weather({"days": 3})),
]


@pytest.mark.parametrize(("label", "check", "make"), REJECTS, ids=[r[0] for r in REJECTS])
def test_each_reject_names_its_check(label: str, check: str, make: Callable[[], Sample]) -> None:
    assert check == "required"
    assert_rejected(label, check, make)
