"""A 200 answer of an odd shape is a failed line, never a cached value that crashes later.

Issue 13, item 1: one output line with the right custom_id and ``"usage": "n/a"``
(or a message that is a string, a token count that is a dict, content nested
5,000 deep, a 5,000-digit number...) was cached, and then collect, status,
prepare and run all ended in a traceback. Here each such body is (a) refused by
response.check with a reason naming the place, (b) a failed ``invalid_response``
line when imported, with every later command working, (c) dropped and pending
again when an older version already cached it, and (d) a compatible server that
shapes ``usage`` harmlessly differently still works through a plain ``run``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner, Result
from doubles import FakeModel
from test_reject_reasons import output_line

from forge_batch import response
from forge_batch.cache import ResponseCache
from forge_batch.cli import cli

Body = dict[str, Any]


def _nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = {"a": value}
    return value


def _msg(body: Body) -> Body:
    return body["choices"][0]["message"]


def _args_deep(body: Body) -> None:
    data = json.loads(_msg(body)["content"])
    calls = data.get("calls") or [{"name": "create_entities", "result": {}}]
    calls[0]["arguments"] = _nested(400)
    data["calls"] = calls
    _msg(body)["content"] = json.dumps(data)


def _big_int(body: Body) -> None:
    text = _msg(body)["content"]
    _msg(body)["content"] = text[:-1] + ', "n": ' + "7" * 5000 + "}"


def _set(path: str, value: Any) -> Callable[[Body], None]:
    """A mutation setting a dotted path (numbers index lists) of the body."""

    def mutate(body: Body) -> None:
        *head, last = path.split(".")
        node: Any = body
        for part in head:
            node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
        node[int(last) if last.isdigit() else last] = value

    return mutate


# name -> (mutation, words the reason must contain)
MALFORMED: dict[str, tuple[Callable[[Body], None], str]] = {
    "usage_na": (_set("usage", "n/a"), "usage is str"),
    "message_str": (_set("choices.0.message", "hello"), "choices[0].message is str"),
    "message_list": (_set("choices.0.message", ["hello"]), "choices[0].message is list"),
    "message_int": (_set("choices.0.message", 7), "choices[0].message is int"),
    "prompt_tokens_str": (_set("usage.prompt_tokens", "12"), "usage.prompt_tokens"),
    "prompt_tokens_dict": (_set("usage.prompt_tokens", {"n": 1}), "usage.prompt_tokens is dict"),
    "cached_tokens_x": (
        _set("usage.prompt_tokens_details", {"cached_tokens": "x"}),
        "usage.prompt_tokens_details.cached_tokens",
    ),
    "negative_tokens": (_set("usage.completion_tokens", -3), "usage.completion_tokens"),
    "bool_tokens": (_set("usage.completion_tokens", True), "usage.completion_tokens"),
    "huge_tokens": (_set("usage.completion_tokens", 1e30), "usage.completion_tokens"),
    "details_list": (_set("usage.completion_tokens_details", [1]), "completion_tokens_details"),
    "content_deep": (_set("choices.0.message.content", "[" * 5000 + "]" * 5000), "nested 5000"),
    "content_dict": (_set("choices.0.message.content", {"user": "hi"}), "content is dict"),
    "arguments_deep": (_args_deep, "content: nested"),
    "big_int": (_big_int, "more than 100 digits"),
    "tool_call_args_deep": (
        _set(
            "choices.0.message.tool_calls",
            [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "[" * 400}}],
        ),
        "tool_calls[0].function.arguments: nested 400",
    ),
    "tool_calls_str": (_set("choices.0.message.tool_calls", "f()"), "tool_calls is str"),
    "finish_reason_int": (_set("choices.0.finish_reason", 3), "finish_reason is int"),
    "choices_dict": (_set("choices", {"0": {}}), "choices is dict"),
    "model_list": (_set("model", ["m"]), "model is list"),
}

# Shapes a compatible server may send: normalized, cached, counted.
HARMLESS: dict[str, tuple[Callable[[Body], None], tuple[int, int, int | None]]] = {
    "usage_missing": (lambda b: b.pop("usage"), (0, 0, None)),
    "usage_null": (_set("usage", None), (0, 0, None)),
    "usage_floats_and_extras": (
        _set(
            "usage",
            {
                "prompt_tokens": 12.0,
                "completion_tokens": 5.0,
                "total_tokens": 17.0,
                "queue_time": 0.01,
                "x_groq": {"id": "q"},
                "prompt_tokens_details": {"cached_tokens": 4.0, "tier": "x"},
                "completion_tokens_details": None,
            },
        ),
        (12, 5, 4),
    ),
    "null_counts": (
        _set("usage", {"prompt_tokens": 3, "completion_tokens": None, "total_tokens": None}),
        (3, 0, None),
    ),
}


def _good_body() -> Body:
    request = {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "response_format": {
            "type": "json_schema",
            "json_schema": {
                "name": "s",
                "schema": {"type": "object", "properties": {"user": {"type": "string"}}},
            },
        },
    }
    return FakeModel()(request)[1]


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_body_is_refused_with_its_place(name: str) -> None:
    mutate, words = MALFORMED[name]
    body = _good_body()
    mutate(body)
    before = copy.deepcopy(body)
    checked, reason = response.check(body)
    assert checked is None
    assert reason is not None and words in reason, reason
    assert body == before  # pure
    response.token_counts(body.get("usage"))  # never raises


@pytest.mark.parametrize("name", sorted(HARMLESS))
def test_harmless_usage_shapes_are_normalized(name: str) -> None:
    mutate, counts = HARMLESS[name]
    body = _good_body()
    mutate(body)
    checked, reason = response.check(body)
    assert reason is None and checked is not None
    assert response.token_counts(checked.get("usage")) == counts
    usage = checked.get("usage") or {}
    assert all(type(v) is int for k, v in usage.items() if k.endswith("_tokens"))
    assert "x_groq" not in usage  # an object nothing reads is dropped


def test_limits_are_inclusive() -> None:
    body = _good_body()
    _msg(body)["content"] = "[" * 64 + "]" * 64 + ' "' + "[" * 500 + '"'
    assert response.check(body)[1] is None  # 64 deep; brackets in a string do not count
    _msg(body)["content"] = '{"a": "' + "9" * 500 + '", "b": ' + "9" * 100 + "}"
    assert response.check(body)[1] is None


# -- through the CLI ------------------------------------------------------------------------------


def invoke(cfg: Path, *args: str) -> Result:
    result = CliRunner().invoke(cli, ["-c", str(cfg), *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{args}: {result.exception!r}\n{result.output}"
    )
    assert "Traceback" not in result.output
    return result


def _seed_keys(cfg: Path) -> list[str]:
    return [
        orjson.loads(line)["custom_id"]
        for p in sorted((cfg.parent / "batches").glob("seed-*.jsonl"))
        for line in p.read_bytes().splitlines()
    ]


def _answers(cfg: Path) -> dict[str, Body]:
    model = FakeModel()
    return {
        orjson.loads(line)["custom_id"]: model(orjson.loads(line)["body"])[1]
        for p in sorted((cfg.parent / "batches").glob("seed-*.jsonl"))
        for line in p.read_bytes().splitlines()
    }


def _every_command_works(cfg: Path) -> dict[str, Any]:
    for args in (("status",), ("collect",), ("prepare",)):
        assert invoke(cfg, *args).exit_code == 0
    return json.loads(invoke(cfg, "status", "--json").output)


def test_imported_malformed_answers_fail_and_nothing_crashes_later(
    make_project: Callable[..., Path],
) -> None:
    n_bad = len(MALFORMED)
    cfg = make_project(seeds=n_bad + 8, paraphrases_per_seed=1)
    assert invoke(cfg, "prepare").exit_code == 0
    answers = _answers(cfg)
    keys = sorted(answers)
    bad = dict(zip(keys, sorted(MALFORMED), strict=False))
    for key, name in bad.items():
        MALFORMED[name][0](answers[key])
    out = cfg.parent / "out.jsonl"
    out.write_bytes(b"".join(output_line(k, answers[k]) for k in keys))
    result = invoke(cfg, "collect", "--import", str(out))
    assert result.exit_code == 0, result.output
    assert f"{len(keys) - n_bad} cached, {n_bad} failed ({n_bad} invalid_response)" in (
        result.output
    )
    first = keys.index(min(bad, key=keys.index)) + 1
    assert f"first failed line {first}: invalid_response: " in result.output, result.output
    with ResponseCache(cfg.parent / "cache") as cache:
        assert cache.contains_many(keys) == set(keys) - set(bad)
    status = _every_command_works(cfg)
    assert status["stages"]["seed"]["cached"] == len(keys) - n_bad
    # prepare (run by _every_command_works) asks for exactly the malformed ones again
    assert sorted(_seed_keys(cfg)) == sorted(bad)


def test_malformed_entries_cached_by_an_older_version_are_dropped_and_pending(
    make_project: Callable[..., Path],
) -> None:
    cfg = make_project(seeds=len(MALFORMED) + 4, paraphrases_per_seed=1)
    assert invoke(cfg, "prepare").exit_code == 0
    answers = _answers(cfg)
    keys = sorted(answers)
    bad = dict(zip(keys, sorted(MALFORMED), strict=False))
    for key, name in bad.items():
        MALFORMED[name][0](answers[key])
    with ResponseCache(cfg.parent / "cache") as cache:  # as an older version stored them
        cache.put_many((k, answers[k], "batch_old") for k in keys)
    status = json.loads(invoke(cfg, "status", "--json").output)  # reads, drops nothing
    assert status["stages"]["seed"]["cached"] == len(keys) - len(bad)
    assert status["stages"]["seed"]["pending"] == len(bad)
    result = invoke(cfg, "collect")
    assert result.exit_code == 0
    assert f"dropped {len(bad)} corrupted cache entries" in result.output
    status = _every_command_works(cfg)
    assert status["stages"]["seed"]["cached"] == len(keys) - len(bad)
    assert sorted(_seed_keys(cfg)) == sorted(bad)


def test_prepare_alone_drops_a_malformed_entry_and_resends_it(
    make_project: Callable[..., Path],
) -> None:
    cfg = make_project(seeds=4, paraphrases_per_seed=0)
    assert invoke(cfg, "prepare").exit_code == 0
    answers = _answers(cfg)
    key = sorted(answers)[0]
    _set("usage", "n/a")(answers[key])
    with ResponseCache(cfg.parent / "cache") as cache:
        cache.put_many((k, answers[k], "batch_old") for k in answers)
    result = invoke(cfg, "prepare")
    assert result.exit_code == 0
    assert _seed_keys(cfg) == [key]


def test_run_against_a_server_with_its_own_usage_shapes(make_project: Callable[..., Path]) -> None:
    """Harmless shapes are cached and counted; "n/a" is retried max_attempts times, then given
    up with its reason; every command still works."""
    executor = str(Path(__file__).resolve().parent / "doubles.py") + ":OddUsageModel"
    cfg = make_project(
        seeds=24, paraphrases_per_seed=0, engine={"executor": executor, "max_attempts": 2}
    )
    result = invoke(cfg, "run")
    assert result.exit_code == 0, result.output
    status = _every_command_works(cfg)
    seed = status["stages"]["seed"]
    assert seed["failed_reasons"].get("invalid_response", 0) >= 1
    assert seed["failed"] == seed["failed_reasons"]["invalid_response"]
    assert seed["cached"] + seed["failed"] == seed["planned"] and seed["pending"] == 0
    assert seed["cached"] > seed["failed"]
    rejects = [
        json.loads(line) for line in (cfg.parent / "out" / "rejects.jsonl").read_text().splitlines()
    ]
    given_up = [r for r in rejects if r["check"] == "request_failed"]
    assert len(given_up) == seed["failed"]
    assert all("invalid_response after 2 attempt(s): usage is str" in r["reason"] for r in given_up)


def test_reasons_carry_no_control_characters() -> None:
    """A reason ends up in rejects.jsonl and on screens: names and values from outside are
    escaped."""
    for usage in ({"\x1b[2J_tokens": "x"}, {"prompt_tokens": "\x1b[2J\r"}, {"a\u2028_tokens": []}):
        body = {**_good_body(), "usage": usage}
        _, reason = response.check(body)
        assert reason is not None and reason.isprintable(), reason
