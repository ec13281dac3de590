"""Reasoning models: a gpt-5-style body through the local server, whose fault
``reasoning=1`` spends reasoning tokens out of max_completion_tokens first."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import orjson
from click.testing import CliRunner, Result

from forge_batch import config as C
from forge_batch import reasoning
from forge_batch.cli import cli
from forge_batch.server.faults import think


def invoke(cfg: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["-c", str(cfg), *args], catch_exceptions=False)


def first_body(cfg: Path) -> dict:
    shard = sorted((cfg.parent / "batches").glob("seed-*.jsonl"))[0]
    return orjson.loads(shard.read_bytes().splitlines()[0])["body"]


def test_efforts_per_family() -> None:
    assert reasoning.default_effort("gpt-5-mini") == "minimal"
    assert reasoning.default_effort("gpt-5.1") == "none"
    assert reasoning.default_effort("o3-mini") == "low"
    assert reasoning.default_effort("gpt-5-pro") == "high"
    assert reasoning.default_effort("gpt-4o-mini") is None
    assert reasoning.effort_problem("o4-mini", "minimal") == (
        "'o4-mini' accepts low, medium, high, not 'minimal'"
    )
    assert reasoning.reasoning_tokens({"completion_tokens_details": {"reasoning_tokens": 7}}) == 7
    assert reasoning.reasoning_tokens({"completion_tokens_details": "n/a"}) == 0


def test_config_defaults_leave_room_for_reasoning(tmp_path: Path) -> None:
    gen = C.from_dict({"tools": "t.json", "model": "gpt-5-mini"}, tmp_path / "f.toml").generation
    assert (gen.reasoning_effort, gen.max_tokens, gen.paraphrase_max_tokens) == (
        "minimal",
        2024,
        1512,
    )
    plain = C.from_dict({"tools": "t.json", "model": "gpt-4o-mini"}, tmp_path / "f.toml")
    assert (plain.generation.reasoning_effort, plain.generation.max_tokens) == (None, 1024)


def test_simulated_reasoning_model_rejects_temperature_and_spends_the_budget() -> None:
    def echo(body: dict) -> tuple[int, dict]:
        usage = {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30}
        return 200, {"choices": [{"message": {"content": "{}"}}], "usage": usage, "seen": body}

    status, _ = think({"temperature": 0.8, "max_completion_tokens": 100}, echo)
    assert status == 400
    status, out = think({"max_completion_tokens": 2000}, echo)  # default effort: medium
    assert status == 200 and out["seen"]["max_completion_tokens"] == 500
    assert out["usage"]["completion_tokens"] == 1520
    assert out["usage"]["completion_tokens_details"] == {"reasoning_tokens": 1500}
    status, out = think({"max_completion_tokens": 512}, echo)
    assert out["choices"][0]["finish_reason"] == "length"
    assert out["choices"][0]["message"]["content"] == ""
    assert out["usage"]["completion_tokens_details"] == {"reasoning_tokens": 512}


def gpt5_project(make_project: Callable[..., Path], **generation: object) -> Path:
    return make_project(
        seeds=10,
        paraphrases_per_seed=0,
        model="gpt-5-mini",
        engine={"faults": "reasoning=1"},
        **({"generation": generation} if generation else {}),
    )


def test_defaults_get_answers_from_a_reasoning_model(make_project: Callable[..., Path]) -> None:
    cfg = gpt5_project(make_project)
    result = invoke(cfg, "run")
    assert result.exit_code == 0, result.output
    body = first_body(cfg)
    assert body["reasoning_effort"] == "minimal" and "temperature" not in body
    assert body["max_completion_tokens"] == 2024
    status = json.loads(invoke(cfg, "status", "--json").output)
    seed = status["stages"]["seed"]
    assert seed["cached"] == 10 and seed["accepted"] >= 8
    tokens = status["accounting"]["tokens"]
    assert tokens["reasoning"] == 10 * 48 and tokens["truncated_by_reasoning"] == 0
    report = (cfg.parent / "out" / "report.md").read_text()
    assert f"| reasoning (included in completion) | {10 * 48} |" in report
    assert "spent their output budget on reasoning" not in report


def test_old_budget_is_explained_in_the_report(make_project: Callable[..., Path]) -> None:
    cfg = gpt5_project(make_project, max_tokens=512, reasoning_effort="medium")
    result = invoke(cfg, "run")
    assert result.exit_code == 0, result.output
    status = json.loads(invoke(cfg, "status", "--json").output)
    seed = status["stages"]["seed"]
    assert seed["accepted"] == 0 and status["dataset"]["rejects_by_check"]["truncated"] == 10
    assert status["accounting"]["tokens"]["truncated_by_reasoning"] == 10
    report = (cfg.parent / "out" / "report.md").read_text()
    assert "**10 of 10 truncated responses spent their output budget on reasoning**" in report
    assert "raise `[generation] max_tokens` (now 512; the default for `gpt-5-mini` at this " in (
        report
    )
    assert "lower `reasoning_effort` (now `medium`; `minimal` is the lowest" in report
    text = invoke(cfg, "status").output
    assert "(reasoning 5,120); 10 answer(s) cut off because reasoning used the budget" in text
