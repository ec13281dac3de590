"""Helpers of the check tests: samples in OpenAI chat format, as parse.py builds them,
a small tool set, and one valid sample per scenario."""

from __future__ import annotations

import json
from typing import Any

from forge_batch.checks import CheckContext, check_sample
from forge_batch.records import Sample


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


def assert_rejected(label: str, check: str, make: Any) -> None:
    """``make()`` is rejected by ``check`` (the first failing one), with a reason."""
    got = failure(make())
    assert got is not None, label
    assert got[0] == check, got
    assert got[1]
