"""The hygiene check: empty, cut-off, refused or garbage texts; ordinary prose is kept."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from checkkit import (
    GOOD_WEATHER,
    answer,
    assert_rejected,
    failure,
    sample,
    user,
    valid,
    weather,
)

from forge_batch import checks
from forge_batch.records import Sample

REJECTS: list[tuple[str, str, Callable[[], Sample]]] = [
    ("empty user text", "hygiene", lambda: weather(GOOD_WEATHER, text="   ")),
    (
        "too short user text",
        "hygiene",
        lambda: sample([user("k"), answer("Okay, anything else?")], "no_tool"),
    ),
    (
        "empty final answer",
        "hygiene",
        lambda: sample([user("Tell me a joke."), answer("")], "no_tool"),
    ),
    (
        "finish_reason length",
        "hygiene",
        lambda: sample(valid("no_tool").messages, "no_tool", finish_reason="length"),
    ),
    (
        "finish_reason content_filter",
        "hygiene",
        lambda: sample(valid("no_tool").messages, "no_tool", finish_reason="content_filter"),
    ),
    (
        "refusal",
        "hygiene",
        lambda: sample(
            [user("Tell me a joke."), answer("I'm sorry, but I can't help with that.")], "no_tool"
        ),
    ),
    (
        "as an AI language model",
        "hygiene",
        lambda: sample(
            [
                user("Tell me a joke."),
                answer("As an AI language model, I do not have a sense of humor."),
            ],
            "no_tool",
        ),
    ),
    (
        "JSON blob as the answer",
        "hygiene",
        lambda: sample(
            [
                user("Weather in Paris?"),
                answer('{"name": "get_weather", "arguments": {"city": "Paris"}}'),
            ],
            "no_tool",
        ),
    ),
    (
        "template tokens in the answer",
        "hygiene",
        lambda: sample(
            [user("Weather in Paris?"), answer('<tool_call>{"name": "get_weather"}</tool_call>')],
            "no_tool",
        ),
    ),
    (
        "binary noise",
        "hygiene",
        lambda: sample(
            [user("Tell me a joke."), answer("ok \x00\x01\x02\x03\x04\x05\x06 ok")], "no_tool"
        ),
    ),
    (
        "the same word over and over",
        "hygiene",
        lambda: sample([user("Tell me a joke."), answer("ha " * 30)], "no_tool"),
    ),
    (
        "a phrase loop",
        "hygiene",
        lambda: sample(
            [user("Tell me a joke."), answer("I can help you with that. " * 12)], "no_tool"
        ),
    ),
]


@pytest.mark.parametrize(("label", "check", "make"), REJECTS, ids=[r[0] for r in REJECTS])
def test_each_reject_names_its_check(label: str, check: str, make: Callable[[], Sample]) -> None:
    assert check == "hygiene"
    assert_rejected(label, check, make)


def test_min_text_chars_is_a_setting() -> None:
    s = sample([user("hey"), answer("Hi! How can I help?")], "no_tool")
    assert failure(s) is None
    got = failure(s, min_text_chars=5)
    assert got is not None and got[0] == "hygiene"


# -- hygiene stays conservative on real prose -------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Here is the forecast:\n- Monday: 18°C, clear\n- Tuesday: 15°C, rain\nTake an umbrella!",
        "Zürich – 東京 🌧️ → 12 °C; the file 'ääää.txt' was saved.",
        "The IDs are 1 1 1 1 1 1 1 1 1 1 1 1, as you asked.",
        "I saved <b>bold</b> text in the note named 'draft'.",
        "I'm sorry, but I can't find a file called report.pdf in that folder. Could you check "
        "the name?",
        "Unfortunately I cannot help with booking flights, but I can check the weather there.",
        "Very very very good question: the answer is 42.",
        "Your config is [a=1, b=2] and the key is {region}.",
    ],
)
def test_hygiene_keeps_ordinary_answers(text: str) -> None:
    assert failure(sample([user("Can you help me out?"), answer(text)], "no_tool")) is None


@pytest.mark.parametrize(
    "text",
    [
        "I'm sorry, but I can't assist with that request.",
        "I cannot help with this.",
        "Sorry, I won't comply.",
    ],
)
def test_refusals_are_caught(text: str) -> None:
    got = failure(sample([user("Do the thing now."), answer(text)], "no_tool"))
    assert got is not None and got[0] == "hygiene" and "refusal" in got[1]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("`json{", "fragment of JSON or code"),
        ('{"param"', "fragment of JSON or code"),
        ("{{+2018-315}},", "fragment of JSON or code"),
    ],
)
def test_small_model_fragments_are_not_prose(text: str, fragment: str) -> None:
    assert fragment in (checks.garbage(text) or "")


@pytest.mark.parametrize(
    "text",
    [
        "```python\nprint(1)\n```\nwhy does this code fail for me?",
        "[1, 2] is what I got back, is that right?",
        "Hi",
        "OK",
        "iPhone is great",
    ],
)
def test_prose_that_starts_oddly_is_kept(text: str) -> None:
    assert checks.garbage(text) is None and checks.identifier_only(text) is None


def test_an_identifier_is_not_a_reply() -> None:
    s = sample([user("What can you do?"), answer("read_graph")], "no_tool")
    assert failure(s) == (
        "hygiene",
        "message 1 (assistant): an identifier ('read_graph') where a reply is expected",
    )


# -- issue 13 item 13: a kept demo sample had both of these -------------------------------


def test_a_user_turn_with_a_broken_timestamp_and_a_marker_is_garbage() -> None:
    s = sample(
        [
            user("John Smith, 2019-10-30T:54:68.72.21.83SMT(BEGIN_MEMBER)"),
            answer("I saved John Smith to your contacts."),
        ],
        "no_tool",
    )
    got = failure(s)
    assert got is not None and got[0] == "hygiene", got
    assert got[1].startswith("message 0 (user): "), got


def test_an_answer_that_is_a_cut_fragment_about_truncation_is_rejected() -> None:
    s = sample(
        [user("Tell me about the weather today."), answer(", your response was truncated")],
        "no_tool",
    )
    got = failure(s)
    assert got is not None and got[0] == "hygiene", got
    assert got[1].startswith("message 1 (assistant): "), got


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("2019-10-30T:54:68.72.21.83SMT", "malformed date-time"),
        ("Please add him (BEGIN_MEMBER) now", "control marker"),
        ("call me [END_OF_TURN]", "control marker"),
    ],
)
def test_broken_timestamps_and_control_markers_are_garbage(text: str, fragment: str) -> None:
    assert fragment in (checks.garbage(text) or "")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (", your response was truncated", "starts mid-sentence"),
        ("; and then the rest", "starts mid-sentence"),
        ("Sorry, my response was cut off.", "truncation"),
        ("Note: your answer was truncated.", "truncation"),
    ],
)
def test_answer_fragments_and_truncation_notes(text: str, fragment: str) -> None:
    assert fragment in (checks.fragment(text) or "")


@pytest.mark.parametrize(
    "text",
    [
        "Meet me at 2019-10-30T14:30:00Z in the lobby.",
        "The deadline is 2025-03-14T09:30 local time.",
        "Your order (ID ABC_123) shipped; BEGIN and END are SQL keywords.",
        "The log output was truncated at 1 MB, so I only read the first part.",
        "The file was cut off after line 200; the rest is missing on disk.",
        "...and that's the whole story, as far as I can tell.",
        "(Just kidding.) The forecast is sunny.",
        "Score was 54:68 at half time.",
        "Use START_DATE and END_DATE as the column names.",
    ],
)
def test_hygiene_keeps_timestamps_markers_and_truncation_in_prose(text: str) -> None:
    assert failure(sample([user("Can you help me out?"), answer(text)], "no_tool")) is None
    assert failure(sample([user(text), answer("Sure, here you go.")], "no_tool")) is None
