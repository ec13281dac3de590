"""The grounding check: argument values come from the user or an earlier tool result."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from checkkit import (
    GOOD_INVOICE,
    assert_rejected,
    exchange,
    failure,
    invoice,
    sample,
    tool,
    valid,
    weather,
)

from forge_batch import checks
from forge_batch.checks import CheckContext
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


# -- outcomes: the table, one example of each kind ---------------------------------


def _tool(props: dict[str, Any]) -> dict[str, Any]:
    return tool("do_it", {"type": "object", "properties": props, "additionalProperties": False})


def _one(text: str, props: dict[str, Any], args: dict[str, Any]) -> Sample:
    return sample(exchange(text, "do_it", args, {"ok": True}, "Done."), tools=[_tool(props)])


S: dict[str, Any] = {"type": "string"}
N: dict[str, Any] = {"type": "number"}

NORMALIZED = [
    ("Weather in New York today?", {"location": S}, {"location": "New York, NY"}),
    ("Is it sunny in Tel Aviv?", {"location": S}, {"location": "Tel Aviv, Israel"}),
    ("Book it for March 11, 2022.", {"date": S}, {"date": "2022-03-11"}),
    ("Book it for May 3rd 2022.", {"date": S}, {"date": "2022-05-03"}),
    ("Meet on 14 March 2025 at 3pm.", {"at": S}, {"at": "2025-03-14T15:00:00"}),
    (
        "Hotels with facilities for disabled people",
        {"amenity": {"type": "string", "enum": ["Disabled Access", "Free WiFi", "Parking"]}},
        {"amenity": "Disabled Access"},
    ),
    ("How is Apple doing on the market?", {"ticker": S}, {"ticker": "AAPL"}),
    (
        "Convert 20 dollars to euros",
        {"amount": N, "from": S, "to": S},
        {"amount": 20, "from": "USD", "to": "EUR"},
    ),
    ("Integrate x^2 for me", {"function": S}, {"function": "x**2"}),
    ("Plot 3x+2 please", {"function": S}, {"function": "3*x + 2"}),
    (
        "Directions to the station",
        {"to": S, "mode": {"type": "string", "description": "Mode, default transit"}},
        {"to": "station", "mode": "transit"},
    ),
    (
        "A stone started from rest and fell for 3 seconds.",
        {"initial_velocity": N, "time": N},
        {"initial_velocity": 0, "time": 3},
    ),
    (
        "Arc of 2 pi radians on a circle of radius 1",
        {"angle": N, "radius": N},
        {"angle": 6.2832, "radius": 1},
    ),
    ("Energy in a 50mH coil", {"inductance": N}, {"inductance": 0.05}),
    ("Flights out of LAX tomorrow", {"origin": S}, {"origin": "Los Angeles, CA"}),
    ("Add two dozen eggs", {"item": S, "quantity": N}, {"item": "eggs", "quantity": 24}),
    ("A charge of 1e-9 C", {"charge": N}, {"charge": 1e-09}),
    ("Set a timer for 2 hours", {"seconds": N}, {"seconds": 7200}),
    ("Find Italian restaurants in Paris", {"query": S}, {"query": "Italian restaurants Paris"}),
    ("Open notes.txt in /home/ana/docs", {"path": S}, {"path": "/home/ana/docs/notes.txt"}),
]


@pytest.mark.parametrize(("text", "props", "args"), NORMALIZED, ids=[n[0] for n in NORMALIZED])
def test_normalized_values_pass(text: str, props: dict[str, Any], args: dict[str, Any]) -> None:
    assert failure(_one(text, props, args)) is None


DOUBTED = [
    # (text, props, args, words the reason must contain)
    (
        "Weather in New York City please",
        {"city": S},
        {"city": "New"},
        "cut short of 'New York City'",
    ),
    (
        "Area with a base of 10 and a height of 5",
        {"base": N, "height": N},
        {"base": 5, "height": 10},
        "stands next to",
    ),
    (
        "Flights from Boston to Denver",
        {"origin": S, "destination": S},
        {"origin": "Denver", "destination": "Boston"},
        "stands next to",
    ),
    (
        "Between 2025-03-01 and 2025-03-09",
        {"start_date": S, "end_date": S},
        {"start_date": "2025-03-09", "end_date": "2025-03-01"},
        "is after",
    ),
    ("Set a timer for 45 minutes", {"seconds": N}, {"seconds": 45}, "the user said 45 minutes"),
    ("Book it for March 11, 2022.", {"date": S}, {"date": "2022-11-03"}, "is not in"),
    ("Weather in Tel Aviv?", {"location": S}, {"location": "Tel Aviv, Egypt"}, "is not in"),
    ("How is Apple doing?", {"ticker": S}, {"ticker": "MSFT"}, "is not in"),
    (
        "Add two dozen eggs",
        {"item": S, "quantity": N},
        {"item": "eggs", "quantity": 12},
        "is not in",
    ),
    (
        "Directions there by bike",
        {
            "mode": {
                "type": "string",
                "enum": ["driving", "bicycling", "transit"],
                "default": "transit",
            }
        },
        {"mode": "transit"},
        "but the user asked for 'bicycling'",
    ),
]


@pytest.mark.parametrize(("text", "props", "args", "words"), DOUBTED, ids=[d[0] for d in DOUBTED])
def test_suspect_and_unsupported_values_are_doubts(
    text: str, props: dict[str, Any], args: dict[str, Any], words: str
) -> None:
    s = _one(text, props, args)
    got = failure(s)  # judge off: the doubt rejects
    assert got is not None and got[0] == "grounding" and words in got[1], got
    a = checks.assess(s, CheckContext.build())
    assert a.failure is None and a.doubts and a.doubts[0] == f"grounding: {got[1]}"
    assert failure(s, judge=True) is None  # judge on: the judge decides


def test_assess_keeps_the_first_failure_and_the_doubts_before_it() -> None:
    s = _one("Weather in Lyon for 3 days?", {"city": S, "days": N}, {"city": "Paris", "days": 3})
    a = checks.assess(s, CheckContext.build())
    assert a == checks.Assessment(
        None,
        (
            "grounding: call 0 (do_it): argument 'city' = 'Paris' is not in the user turns "
            "or earlier tool results",
        ),
    )
    bad = _one("Weather in Lyon?", {"city": S}, {"city": "Paris", "country": "FR"})
    a = checks.assess(bad, CheckContext.build())
    assert a.failure is not None and a.failure[0] == "unknown_args" and a.doubts == ()


@pytest.mark.parametrize(
    ("hay", "needle", "found"),
    [
        ("show comparisons for lyon", "paris", False),  # letters inside a word
        ("quote for amazon", "on", False),
        ("restart the router", "art", False),
        ("flights to paris, please", "paris", True),
        ("(paris)", "paris", True),
        ("paris", "paris", True),
        ("comparisons, then paris", "paris", True),  # a later whole-word match counts
        ("call me at +1-555-0100", "+1-555-0100", True),  # edges that are not letters
        ("file notes.md", ".md", True),
        ("我想知道北京明天的天气", "北京", True),  # scripts that do not space words
        ("อากาศที่เชียงใหม่วันนี้", "เชียงใหม่", True),
        ("abc", "", True),
    ],
)
def test_values_are_matched_as_whole_words(hay: str, needle: str, found: bool) -> None:
    from forge_batch.checks.grounding.evidence import whole_words

    assert whole_words(hay, needle) is found
