"""Storage hygiene: after a batch is collected, its uploaded input leaves the API's file
storage (unless keep_inputs); outputs go too with keep_outputs = false."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from forge_batch.cli import cli


def stored(cfg: Path) -> dict[str, int]:
    """Purpose -> files the local server still holds."""
    out: dict[str, int] = {}
    for path in (cfg.parent / "batches" / "local-server" / "files").glob("*.json"):
        purpose = json.loads(path.read_text())["file"]["purpose"]
        out[purpose] = out.get(purpose, 0) + 1
    return out


def run(cfg: Path) -> list[dict]:
    result = CliRunner().invoke(cli, ["-c", str(cfg), "run"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return list(json.loads((cfg.parent / "batches" / "ledger.json").read_text())["shards"].values())


def test_inputs_deleted_outputs_kept_by_default(make_project: Callable[..., Path]) -> None:
    cfg = make_project(seeds=8, paraphrases_per_seed=1)
    ledger = run(cfg)
    assert len(ledger) >= 2 and all(r["deleted"] == [r["file_id"]] for r in ledger)
    assert stored(cfg) == {"batch_output": len(ledger)}


def test_settings_keep_inputs_and_drop_outputs(make_project: Callable[..., Path]) -> None:
    cfg = make_project(
        seeds=8, paraphrases_per_seed=1, engine={"keep_inputs": True, "keep_outputs": False}
    )
    ledger = run(cfg)
    assert all(r["file_id"] not in r["deleted"] and r["deleted"] for r in ledger)
    assert stored(cfg) == {"batch": len(ledger)}
