"""Request bodies for seeds and paraphrases.

Static text first, varying text last: every seed request starts with the same
system message, then the scenario's instruction, then the tools, then the
diversity hint, so OpenAI prompt caching (and llama.cpp's prefix cache) reuse
the longest possible prefix between consecutive requests. A request carries
only the tools it needs, so editing one tool changes only the requests that
show it.

The answer is one strict ``json_schema`` per scenario that carries the whole
conversation. Properties are ordered calls -> user -> answer: the model fixes
the arguments first and then writes a user message that states them, which
keeps the data grounded even with small models.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import orjson

from . import reasoning
from .config import Config
from .plan import CATALOG_SCENARIOS, SeedSpec
from .tools import Tool, ToolSet, strict

SEED_SYSTEM = """\
You write training data for AI assistants that call tools (functions). Each request \
describes a scenario, the tools involved and a situation; reply with ONE realistic \
conversation as a single JSON object that matches the response schema exactly.

Rules:
- Decide the tool calls first, then write the user message that leads to exactly \
those calls, then what each tool returned, then the assistant's final answer.
- Every argument value must be stated in the user's message (or come from an earlier \
tool result). Never invent a value the user did not give, except a tool's default.
- Optional arguments the user did not ask for are null.
- An argument described as "a JSON value encoded as a string" holds JSON text.
- Tool results are what the real tool would plausibly return: concrete, consistent \
with the arguments, short.
- The final answer uses the results, is helpful and brief, and never mentions these \
instructions, the schema or the scenario.
- Follow the situation: write as that person would, with fresh names, numbers and \
places. The user is a person, not an AI.
"""

SCENARIO_TEXT = {
    "standard": "standard: the user asks for something one call of the tool does; "
    "the assistant calls it, reads the result and answers.",
    "no_tool": "no_tool: the user's message needs no tool (small talk, general knowledge, "
    "or something the tools cannot do); the assistant answers directly and calls "
    "nothing.",
    "parallel": "parallel: the user asks for two or more independent things at once; the "
    "assistant makes all the calls together in one turn, then answers.",
    "error": "error: the assistant makes the call but the tool fails; the result is an "
    "error message and the final answer explains the failure kindly and says "
    "what the user can do.",
    "ambiguous": "ambiguous: the user's request lacks information a tool call would need; "
    "the assistant asks one short clarifying question and calls nothing.",
    "edge": "edge: the user needs unusual but valid arguments (boundary numbers, unicode, "
    "empty lists, very long or oddly formatted strings the schema allows).",
    "multi_turn": "multi_turn: two exchanges; the first user message needs the first tool; "
    "after the answer, the user follows up with a request that needs the "
    "second tool (it may reuse values from the first exchange).",
}

PARAPHRASE_SYSTEM = """\
You rewrite user messages for training data. Given one user message, write the \
requested number of paraphrases: the same request and intent, every listed value kept \
exactly as written (same spelling, digits and case), but different wording, sentence \
structure, tone or length. Each paraphrase stands alone and sounds like a real user. \
Never answer the message. Reply with a JSON object that matches the schema.
"""

RESULT_TEXT = "What the tool returned, as the tool would return it (JSON text or plain text)."
ERROR_RESULT = {
    "type": "object",
    "properties": {"error": {"type": "string", "description": "The tool's error message."}},
    "required": ["error"],
    "additionalProperties": False,
}


def _uses_default_sampling(model: str) -> bool:
    """Reasoning models (o-series, gpt-5) reject a temperature setting."""
    return reasoning.is_reasoning(model)


def _response_format(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": name, "strict": True, "schema": schema}}


def _body(
    config: Config,
    messages: list[Any],
    response_format: Any,
    temperature: float,
    max_tokens: int,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": config.model,
        "messages": messages,
        "response_format": response_format,
        "seed": config.random_seed,
        "max_completion_tokens": max_tokens,
    }
    if not _uses_default_sampling(config.model):
        body["temperature"] = temperature
    elif config.generation.reasoning_effort:
        body["reasoning_effort"] = config.generation.reasoning_effort
    return body


# -- response schemas ----------------------------------------------------------


@lru_cache(maxsize=4096)
def _result_conversion(tool: Tool) -> strict.Conversion | None:
    if tool.output_schema is None:
        return None
    try:
        conv = strict.convert_any(tool.output_schema)
    except strict.Unconvertible:
        return None
    return conv if conv.codec is not strict.JSON else None


def result_schema(tool: Tool) -> tuple[dict[str, Any], strict.Codec]:
    """Schema of a simulated result: the tool's output schema when it has one."""
    conv = _result_conversion(tool)
    if conv is None:
        return {"type": "string", "description": RESULT_TEXT}, None
    return conv.schema, conv.codec


def _call_schema(tool: Tool, error: bool) -> dict[str, Any]:
    result = ERROR_RESULT if error else result_schema(tool)[0]
    return {
        "type": "object",
        "properties": {
            "name": {"type": "string", "enum": [tool.export_name]},
            "arguments": tool.strict,
            "result": result,
        },
        "required": ["name", "arguments", "result"],
        "additionalProperties": False,
    }


def _calls(tools: tuple[Tool, ...], lo: int, hi: int | None, error: bool) -> dict[str, Any]:
    unique = tuple(dict.fromkeys(tools))
    calls = [_call_schema(t, error) for t in unique]
    schema: dict[str, Any] = {
        "type": "array",
        "items": calls[0] if len(calls) == 1 else {"anyOf": calls},
        "minItems": lo,
    }
    if hi is not None:
        schema["maxItems"] = hi
    return schema


def closed_object(props: dict[str, Any]) -> dict[str, Any]:
    """A strict-mode object schema: every property required, no others."""
    return {
        "type": "object",
        "properties": props,
        "required": list(props),
        "additionalProperties": False,
    }


USER = {"type": "string", "description": "The user's message."}
ANSWER = {"type": "string", "description": "The assistant's final reply to the user."}
QUESTION = {"type": "string", "description": "The assistant's clarifying question."}


def seed_schema(scenario: str, tools: tuple[Tool, ...]) -> dict[str, Any]:
    """The strict response schema that carries one whole conversation."""
    return _seed_schema(scenario, tools)


@lru_cache(maxsize=65536)
def _seed_schema(scenario: str, tools: tuple[Tool, ...]) -> dict[str, Any]:
    if scenario == "no_tool":
        return closed_object({"user": USER, "answer": ANSWER})
    if scenario == "ambiguous":
        return closed_object({"user": USER, "answer": QUESTION})
    if scenario == "parallel":
        return closed_object({"calls": _calls(tools, 2, 4, False), "user": USER, "answer": ANSWER})
    if scenario == "multi_turn":
        first, second = tools[0], tools[-1]
        return closed_object(
            {
                "calls_1": _calls((first,), 1, 1, False),
                "user_1": USER,
                "answer_1": ANSWER,
                "calls_2": _calls((second,), 1, 1, False),
                "user_2": USER,
                "answer_2": ANSWER,
            }
        )
    return closed_object(
        {"calls": _calls(tools, 1, 1, scenario == "error"), "user": USER, "answer": ANSWER}
    )


# -- seed prompts --------------------------------------------------------------


def _type_text(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        return "|".join(str(k) for k in kind)
    if kind:
        return str(kind)
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(v) for v in schema["enum"][:12])
    return "any"


@lru_cache(maxsize=65536)
def tool_block(tool: Tool) -> str:
    """A compact, readable description of one tool and its parameters."""
    lines = [f"name: {tool.export_name}"]
    if tool.description:
        lines.append(f"description: {' '.join(tool.description.split())}")
    props = tool.parameters.get("properties") or {}
    required = set(tool.parameters.get("required") or [])
    if not props:
        lines.append("parameters: none")
    for name, schema in props.items():
        schema = schema if isinstance(schema, dict) else {}
        bits = [_type_text(schema), "required" if name in required else "optional"]
        if "enum" in schema and schema.get("type"):
            bits.append("one of " + ", ".join(json.dumps(v) for v in schema["enum"][:12]))
        if "default" in schema:
            bits.append(f"default {json.dumps(schema['default'])}")
        desc = " ".join(str(schema.get("description", "")).split())
        lines.append(f"- {name} ({', '.join(bits)})" + (f": {desc}" if desc else ""))
    return "\n".join(lines)


@lru_cache(maxsize=65536)
def _catalog_line(tool: Tool) -> str:
    return f"- {tool.export_name}: {tool.one_line()}"


def catalog_block(names: tuple[str, ...], toolset: ToolSet) -> str:
    """One line per listed tool (a bounded catalogue: see plan.catalogue)."""
    return "\n".join(_catalog_line(toolset.by_name[n]) for n in names)


def seed_user_text(spec: SeedSpec, toolset: ToolSet) -> str:
    parts = [f"Scenario: {SCENARIO_TEXT[spec.scenario]}"]
    if spec.scenario in CATALOG_SCENARIOS:
        parts.append(
            "Tools the assistant has (it must not call any of them here):\n"
            + catalog_block(spec.shown, toolset)
        )
        if spec.scenario == "no_tool":
            parts.append(f"Topic: something near what {spec.tool} is for, that needs no tool.")
        else:
            parts.append(
                f"Topic: a request for what {spec.tool} does, missing a detail the call needs."
            )
    else:
        tools = [toolset.by_name[n] for n in dict.fromkeys(spec.targets)]
        label = "Tool" if len(tools) == 1 else "Tools"
        parts.append(f"{label}:\n" + "\n\n".join(tool_block(t) for t in tools))
        if spec.scenario == "parallel" and len(tools) == 1:
            parts.append(f"Call {spec.tool} at least twice, with different arguments.")
    parts.append(f"Situation: {spec.hint}")
    return "\n\n".join(parts)


def render_seed(spec: SeedSpec, toolset: ToolSet, config: Config) -> dict[str, Any]:
    """The /v1/chat/completions body of one seed request."""
    targets = tuple(toolset.by_name[n] for n in spec.targets)
    messages = [
        {"role": "system", "content": SEED_SYSTEM},
        {"role": "user", "content": seed_user_text(spec, toolset)},
    ]
    name = f"{spec.scenario}_conversation"
    fmt = _response_format(name, seed_schema(spec.scenario, targets))
    gen = config.generation
    return _body(config, messages, fmt, gen.temperature, gen.max_tokens)


# The static parts of a seed body, serialized once as canonical JSON: embedding
# them as fragments makes canonical_seed() ~2x faster than serializing the dict.
_SYSTEM_FRAGMENT = orjson.Fragment(
    orjson.dumps({"role": "system", "content": SEED_SYSTEM}, option=orjson.OPT_SORT_KEYS)
)


@lru_cache(maxsize=65536)
def _format_fragment(scenario: str, targets: tuple[Tool, ...]) -> orjson.Fragment:
    fmt = _response_format(f"{scenario}_conversation", seed_schema(scenario, targets))
    return orjson.Fragment(orjson.dumps(fmt, option=orjson.OPT_SORT_KEYS))


def canonical_seed(spec: SeedSpec, toolset: ToolSet, config: Config) -> bytes:
    """``keys.canonical(render_seed(...))``, byte for byte (tests/test_config_plan.py
    pins it), without re-serializing the static system prompt and schema."""
    targets = tuple(toolset.by_name[n] for n in spec.targets)
    messages = [_SYSTEM_FRAGMENT, {"role": "user", "content": seed_user_text(spec, toolset)}]
    gen = config.generation
    body = _body(
        config, messages, _format_fragment(spec.scenario, targets), gen.temperature, gen.max_tokens
    )
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


# -- paraphrase prompts ----------------------------------------------------------


@lru_cache(maxsize=64)
def paraphrase_schema(n: int) -> dict[str, Any]:
    return closed_object(
        {
            "paraphrases": {
                "type": "array",
                "minItems": n,
                "maxItems": n,
                "items": {"type": "string", "description": "One paraphrase of the user message."},
            }
        }
    )


def render_paraphrase(
    user_text: str, keep: tuple[str, ...], n: int, config: Config
) -> dict[str, Any]:
    """Ask for ``n`` rewrites of a seed's user turn that keep every value in ``keep``."""
    values = ", ".join(json.dumps(v, ensure_ascii=False) for v in keep) if keep else "none"
    text = (
        f"Write {n} paraphrase{'s' if n != 1 else ''}.\n"
        f"Values to keep exactly: {values}\n\nMessage:\n{user_text}"
    )
    messages = [{"role": "system", "content": PARAPHRASE_SYSTEM}, {"role": "user", "content": text}]
    gen = config.generation
    fmt = _response_format("paraphrases", paraphrase_schema(n))
    return _body(config, messages, fmt, gen.paraphrase_temperature, gen.paraphrase_max_tokens)
