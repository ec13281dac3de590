"""The roles check: turn order as trainers expect it; every call answered once, right after it."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest
from checkkit import (
    GOOD_WEATHER,
    answer,
    assert_rejected,
    result,
    sample,
    user,
    valid,
    weather,
)

from forge_batch.records import Sample


def _no_result() -> Sample:
    m = weather(GOOD_WEATHER).messages
    return sample([m[0], m[1], m[3]])


def _wrong_id() -> Sample:
    m = weather(GOOD_WEATHER).messages
    return sample([m[0], m[1], result("call_other", "{}"), m[3]])


def _two_results() -> Sample:
    m = weather(GOOD_WEATHER).messages
    return sample([m[0], m[1], m[2], m[2], m[3]])


def _duplicate_ids() -> Sample:
    s = valid("parallel")
    m = copy.deepcopy(s.messages)
    m[1]["tool_calls"][1]["id"] = "c1"
    return sample(m, "parallel")


def _reused_id_later() -> Sample:
    s = valid("multi_turn")
    m = copy.deepcopy(s.messages)
    m[5]["tool_calls"][0]["id"] = "c1"
    m[6]["tool_call_id"] = "c1"
    return sample(m, "multi_turn")


REJECTS: list[tuple[str, str, Callable[[], Sample]]] = [
    ("no messages", "roles", lambda: sample([])),
    (
        "starts with the assistant",
        "roles",
        lambda: sample([answer("Hello!"), user("hi"), answer("Hi there.")], "no_tool"),
    ),
    ("ends with a tool call", "roles", lambda: sample(weather(GOOD_WEATHER).messages[:3])),
    (
        "ends with a user turn",
        "roles",
        lambda: sample([user("hi there"), answer("Hello!"), user("bye now")], "no_tool"),
    ),
    (
        "two user turns in a row",
        "roles",
        lambda: sample([user("hi there"), user("hello?"), answer("Hello!")], "no_tool"),
    ),
    (
        "system turn in the middle",
        "roles",
        lambda: sample(
            [user("hi there"), {"role": "system", "content": "x"}, answer("Hello!")], "no_tool"
        ),
    ),
    (
        "unknown role",
        "roles",
        lambda: sample([user("hi there"), {"role": "bot", "content": "Hello!"}], "no_tool"),
    ),
    ("call without a result", "roles", _no_result),
    ("result for another id", "roles", _wrong_id),
    ("two results for one call", "roles", _two_results),
    ("duplicate call ids in one turn", "roles", _duplicate_ids),
    ("call id reused in a later turn", "roles", _reused_id_later),
    (
        "tool result without a call",
        "roles",
        lambda: sample([user("hi there"), result("c1", "{}"), answer("Hello!")], "no_tool"),
    ),
]


@pytest.mark.parametrize(("label", "check", "make"), REJECTS, ids=[r[0] for r in REJECTS])
def test_each_reject_names_its_check(label: str, check: str, make: Callable[[], Sample]) -> None:
    assert check == "roles"
    assert_rejected(label, check, make)
