"""checks.py: one sample per reject reason, each asserting the exact check name."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest

from forge_batch import checks
from forge_batch.checks import CheckContext, check_sample
from forge_batch.config import SCENARIOS
from forge_batch.records import Sample

# -- helpers: samples in OpenAI chat format, as parse.py builds them ------------------


def tool(name: str, params: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {"name": name, "description": f"{name} tool", "parameters": params},
    }


WEATHER = tool(
    "get_weather",
    {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "days": {"type": "integer", "minimum": 1, "maximum": 14},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"},
        },
        "required": ["city"],
        "additionalProperties": False,
    },
)
EMAIL = tool(
    "send_email",
    {
        "type": "object",
        "properties": {
            "to": {"type": "string", "format": "email"},
            "subject": {"type": "string"},
            "send_on": {"type": "string", "format": "date"},
            "at": {"type": "string", "format": "date-time"},
        },
        "required": ["to", "subject"],
    },
)
CUSTOMER = tool(
    "find_customer",
    {
        "type": "object",
        "properties": {"name": {"type": "string", "minLength": 2}},
        "required": ["name"],
        "additionalProperties": False,
    },
)
INVOICE = tool(
    "create_invoice",
    {
        "type": "object",
        "properties": {
            "customer_id": {"type": "string", "pattern": "^C[0-9]{4}$"},
            "amount": {"type": "number", "exclusiveMinimum": 0},
            "currency": {"type": "string", "enum": ["USD", "EUR"]},
            "lines": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"sku": {"type": "string"}, "qty": {"type": "integer"}},
                },
            },
        },
        "required": ["customer_id", "amount", "currency"],
        "additionalProperties": False,
    },
)
TOOLS = [WEATHER, EMAIL, CUSTOMER, INVOICE]


def call(cid: str, name: str, args: Any) -> dict[str, Any]:
    text = args if isinstance(args, str) else json.dumps(args)
    return {"id": cid, "type": "function", "function": {"name": name, "arguments": text}}


def result(cid: str, content: Any) -> dict[str, Any]:
    text = content if isinstance(content, str) else json.dumps(content)
    return {"role": "tool", "tool_call_id": cid, "content": text}


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def answer(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": text}


def calls(*items: dict[str, Any]) -> dict[str, Any]:
    return {"role": "assistant", "content": None, "tool_calls": list(items)}


def exchange(
    text: str, name: str, args: Any, output: Any, reply: str, cid: str = "call_1"
) -> list[dict[str, Any]]:
    return [user(text), calls(call(cid, name, args)), result(cid, output), answer(reply)]


def sample(
    messages: list[dict[str, Any]],
    scenario: str = "standard",
    tools: list[dict[str, Any]] | None = None,
    **meta: Any,
) -> Sample:
    return Sample(
        "s1",
        "seed",
        scenario,
        messages,
        TOOLS if tools is None else tools,
        {"finish_reason": "stop", **meta},
    )


def weather(
    args: Any,
    text: str = "What's the weather in Paris for the next 3 days?",
) -> Sample:
    return sample(
        exchange(
            text,
            "get_weather",
            args,
            {"temp_c": 18, "sky": "clear"},
            "Expect clear skies in Paris, around 18°C.",
        )
    )


def invoice(args: Any, text: str = "Bill customer C0042 for 1,250 EUR please.") -> Sample:
    return sample(
        exchange(text, "create_invoice", args, {"invoice": "INV-7"}, "Invoice INV-7 is created.")
    )


def email(args: Any) -> Sample:
    text = "Email ana@example.com, subject 'Budget', on 2025-03-14 at 2025-03-14T09:30:00Z."
    return sample(exchange(text, "send_email", args, {"status": "sent"}, "Sent it."))


def failure(s: Sample, **kw: Any) -> tuple[str, str] | None:
    return check_sample(s, CheckContext.build(**kw))


# -- valid samples of every scenario ------------------------------------------------

GOOD_WEATHER = {"city": "Paris", "days": 3}
GOOD_INVOICE = {"customer_id": "C0042", "amount": 1250, "currency": "EUR"}


def valid(scenario: str) -> Sample:
    if scenario == "standard":
        return weather(GOOD_WEATHER)
    if scenario == "no_tool":
        return sample(
            [
                user("Tell me a fun fact about octopuses."),
                answer("An octopus has three hearts and blue blood."),
            ],
            scenario,
        )
    if scenario == "ambiguous":
        return sample(
            [user("What's the weather like?"), answer("Sure! Which city should I check?")], scenario
        )
    if scenario == "parallel":
        return sample(
            [
                user("Weather for Paris and for Lyon, please."),
                calls(
                    call("c1", "get_weather", {"city": "Paris"}),
                    call("c2", "get_weather", {"city": "Lyon"}),
                ),
                result("c2", {"temp_c": 15}),
                result("c1", {"temp_c": 18}),  # any order
                answer("Paris is at 18°C and Lyon at 15°C."),
            ],
            scenario,
        )
    if scenario == "error":
        return sample(
            exchange(
                "Email bob@example.com with the subject 'Q3 numbers'.",
                "send_email",
                {"to": "bob@example.com", "subject": "Q3 numbers"},
                {"error": "SMTP server unavailable"},
                "I'm sorry, but I can't reach the mail server right now; "
                "please try again in a few minutes.",
            ),
            scenario,
        )
    if scenario == "edge":
        return sample(
            exchange(
                "Forecast for São Paulo for the maximum of 14 days.",
                "get_weather",
                {"city": "São Paulo", "days": 14},
                {"days": 14},
                "Here is the 14-day forecast for São Paulo.",
            ),
            scenario,
        )
    assert scenario == "multi_turn"
    first = exchange(
        "Find the customer record for Ada Lovelace.",
        "find_customer",
        {"name": "Ada Lovelace"},
        {"id": "C0042", "city": "London"},
        "Ada Lovelace is customer C0042.",
        cid="c1",
    )
    second = exchange(
        "Great, now bill her 1,250 EUR.",
        "create_invoice",
        GOOD_INVOICE,
        {"invoice": "INV-7"},
        "Done: invoice INV-7.",
        cid="c2",
    )
    return sample(first + second, scenario)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_valid_sample_of_each_scenario_passes(scenario: str) -> None:
    assert failure(valid(scenario)) is None


def test_a_system_turn_first_is_allowed() -> None:
    s = weather(GOOD_WEATHER)
    s = sample([{"role": "system", "content": "You are helpful."}, *s.messages])
    assert failure(s) is None


def test_check_names_are_the_contract() -> None:
    assert checks.CHECK_ORDER == (
        "roles",
        "hygiene",
        "json",
        "tool",
        "required",
        "unknown_args",
        "schema",
        "grounding",
        "call_count",
    )
    for name in (
        "parse",
        "truncated",
        "refusal",
        "duplicate",
        "synthetic_cap",
        "request_failed",
        *checks.CHECK_ORDER,
    ):
        assert name in checks.all_checks
    assert len(set(checks.all_checks)) == len(checks.all_checks)


# -- one sample per reject reason -----------------------------------------------------


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
    # roles
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
    # hygiene
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
    # json
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
    # tool
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
    # required
    ("missing required argument", "required", lambda: weather({"days": 3})),
    # unknown_args
    (
        "undeclared argument",
        "unknown_args",
        lambda: weather({"city": "Paris", "country": "France"}),
    ),
    # schema
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
    # grounding
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
    # call_count
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
    got = failure(make())
    assert got is not None, label
    assert got[0] == check, got
    assert got[1]


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


# -- grounding ------------------------------------------------------------------------


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


# -- compiled once ------------------------------------------------------------------------


def test_one_validator_per_distinct_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = []
    real = jsonschema.validators.validator_for
    ours = {json.dumps(t["function"]["parameters"], sort_keys=True) for t in TOOLS}

    def counting(schema: Any, *args: Any, **kwargs: Any) -> Any:
        text = json.dumps(schema, sort_keys=True)
        if text in ours:  # jsonschema also looks up its own meta-schemas
            compiled.append(text)
        return real(schema, *args, **kwargs)

    monkeypatch.setattr(checks.jsonschema.validators, "validator_for", counting)
    ctx = CheckContext.build()
    for i in range(50):
        tools = copy.deepcopy(TOOLS)  # new objects, as when read back from a file
        if i % 2:  # same schema, other key order: still the same validator
            params = tools[0]["function"]["parameters"]
            tools[0]["function"]["parameters"] = dict(reversed(list(params.items())))
        s = weather(GOOD_WEATHER)
        assert (
            check_sample(Sample(f"s{i}", "seed", "standard", s.messages, tools, s.meta), ctx)
            is None
        )
    assert ctx.compiled == len(compiled) == 4  # one per tool schema in TOOLS
    assert len(set(compiled)) == 4


def test_checks_run_on_their_own_without_crashing() -> None:
    bad = weather("{not json")
    ctx = CheckContext.build()
    for _name, fn in checks.CHECKS:
        fn(bad, ctx)  # later checks skip calls the earlier ones reject


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
