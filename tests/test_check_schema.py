"""The schema check: arguments validate against the original schema."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from checkkit import (
    GOOD_INVOICE,
    assert_rejected,
    email,
    failure,
    invoice,
    weather,
)

from forge_batch.records import Sample

REJECTS: list[tuple[str, str, Callable[[], Sample]]] = [
    ("string for an integer", "schema", lambda: weather({"city": "Paris", "days": "3"})),
    ("bool is not an integer", "schema", lambda: weather({"city": "Paris", "days": True})),
    ("out of range", "schema", lambda: weather({"city": "Paris", "days": 30})),
    ("not in the enum", "schema", lambda: weather({"city": "Paris", "unit": "kelvin"})),
    ("pattern", "schema", lambda: invoice({**GOOD_INVOICE, "customer_id": "42"})),
    ("email format", "schema", lambda: email({"to": "ana-at-example", "subject": "Budget"})),
    (
        "date format",
        "schema",
        lambda: email({"to": "ana@example.com", "subject": "Budget", "send_on": "2025-14-03"}),
    ),
    (
        "date-time format",
        "schema",
        lambda: email({"to": "ana@example.com", "subject": "Budget", "at": "2025-03-14 9:30"}),
    ),
    (
        "nested type",
        "schema",
        lambda: invoice(
            {**GOOD_INVOICE, "lines": [{"sku": "A1", "qty": "2"}]},
            text="Bill customer C0042 for 1,250 EUR please, 2 of A1.",
        ),
    ),
]


@pytest.mark.parametrize(("label", "check", "make"), REJECTS, ids=[r[0] for r in REJECTS])
def test_each_reject_names_its_check(label: str, check: str, make: Callable[[], Sample]) -> None:
    assert check == "schema"
    assert_rejected(label, check, make)


def test_a_bool_is_not_an_integer_and_the_reason_names_the_argument() -> None:
    got = failure(weather({"city": "Paris", "days": True}))
    assert got is not None and got[0] == "schema"
    assert "days" in got[1] and "integer" in got[1]


def test_an_int_passes_as_a_number() -> None:
    assert failure(invoice(GOOD_INVOICE)) is None  # amount 1250 against "number"


def test_a_float_with_a_zero_fraction_matches_an_integer_said_by_the_user() -> None:
    s = weather({"city": "Paris", "days": 3.0}, text="Weather in Paris for 3 days?")
    assert failure(s) is None
    s = weather({"city": "Paris", "days": 3}, text="Weather in Paris for 3.0 days?")
    assert failure(s) is None


def test_formats_accept_valid_values() -> None:
    s = email(
        {
            "to": "ana@example.com",
            "subject": "Budget",
            "send_on": "2025-03-14",
            "at": "2025-03-14T09:30:00Z",
        }
    )
    assert failure(s) is None
