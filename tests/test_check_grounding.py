"""The grounding check: argument values come from the user or an earlier tool result."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from checkkit import (
    GOOD_INVOICE,
    assert_rejected,
    exchange,
    failure,
    invoice,
    sample,
    valid,
    weather,
)

from forge_batch.records import Sample

REJECTS: list[tuple[str, str, Callable[[], Sample]]] = [
    ("value the user never gave", "grounding", lambda: weather({"city": "Lyon", "days": 3})),
    ("number the user never gave", "grounding", lambda: weather({"city": "Paris", "days": 5})),
    (
        "enum value without a default, not said",
        "grounding",
        lambda: invoice({**GOOD_INVOICE, "currency": "USD"}),
    ),
    (
        "value only in a later tool result",
        "grounding",
        lambda: sample(
            exchange(
                "Find Ada Lovelace",
                "find_customer",
                {"name": "Ada Lovelace"},
                {"id": "C0042"},
                "Ada is C0042.",
                "c1",
            )
            + exchange(
                "Bill her 1,250 EUR.",
                "create_invoice",
                {**GOOD_INVOICE, "customer_id": "C0099"},
                {"invoice": "INV-7", "customer": "C0099"},
                "Done.",
                "c2",
            ),
            "multi_turn",
        ),
    ),
]


@pytest.mark.parametrize(("label", "check", "make"), REJECTS, ids=[r[0] for r in REJECTS])
def test_each_reject_names_its_check(label: str, check: str, make: Callable[[], Sample]) -> None:
    assert check == "grounding"
    assert_rejected(label, check, make)


def test_defaults_need_no_evidence() -> None:
    # unit is never said: equal to its default, and an enum with a default
    assert failure(weather({"city": "Paris", "days": 3, "unit": "celsius"})) is None
    assert failure(weather({"city": "Paris", "days": 3, "unit": "fahrenheit"})) is None


def test_values_from_earlier_tool_results_are_grounded() -> None:
    assert failure(valid("multi_turn")) is None  # customer_id C0042 comes from a result


def test_numbers_match_written_forms() -> None:
    assert failure(invoice(GOOD_INVOICE, text="Bill customer C0042 for 1,250 EUR.")) is None
    assert (
        failure(invoice({**GOOD_INVOICE, "amount": 1250.5}, text="Bill C0042 EUR 1,250.50 please"))
        is None
    )
    assert (
        failure(invoice({**GOOD_INVOICE, "amount": 2000}, text="Bill C0042 2k EUR please")) is None
    )
    assert (
        failure(
            weather({"city": "Paris", "days": 3}, text="Paris weather for the next three days?")
        )
        is None
    )
    got = failure(invoice({**GOOD_INVOICE, "amount": 125}, text="Bill C0042 1,250 EUR."))
    assert got is not None and got[0] == "grounding"  # 125 is not inside 1,250


def test_strings_match_despite_case_quotes_and_whitespace() -> None:
    s = weather(
        {"city": "new  york", "days": 3}, text="Weather in \u201cNew York\u201d for 3 days?"
    )
    assert failure(s) is None


def test_the_grounding_reason_names_the_argument_and_value() -> None:
    got = failure(weather({"city": "Lyon", "days": 3}))
    assert got == (
        "grounding",
        "call 0 (get_weather): argument 'city' = 'Lyon' is not in "
        "the user turns or earlier tool results",
    )


def test_grounding_can_be_turned_off() -> None:
    assert failure(weather({"city": "Lyon", "days": 3}), grounding=False) is None
