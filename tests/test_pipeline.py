"""End to end through the real CLI: prepare -> local server (HTTP, FakeModel) -> collect.

The local Batch API server runs in-process on loopback, driven through the
official openai SDK; only the model is replaced by the FakeModel test double.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner, Result

from forge_batch import checks, config, keys, plan, prompts
from forge_batch.cli import cli
from forge_batch.records import Sample
from forge_batch.tools import load_tools


def invoke(cfg: Path, *args: str) -> Result:
    result = CliRunner().invoke(cli, ["-c", str(cfg), *args], catch_exceptions=False)
    return result


def shard_keys(folder: Path) -> list[str]:
    out = []
    for path in sorted(folder.glob("*-[0-9][0-9][0-9][0-9].jsonl")):
        out += [orjson.loads(line)["custom_id"] for line in path.read_bytes().splitlines()]
    return out


def test_run_end_to_end_and_rerun_sends_nothing(make_project: Callable[..., Path]) -> None:
    cfg = make_project(seeds=16, paraphrases_per_seed=2)
    first = invoke(cfg, "run")
    assert first.exit_code == 0, first.output
    out = cfg.parent / "out"
    dataset = [json.loads(line) for line in (out / "dataset.jsonl").read_text().splitlines()]
    assert dataset and (out / "rejects.jsonl").exists() and (out / "report.md").exists()
    sources = {r["source"] for r in dataset}
    assert sources == {"seed", "paraphrase"}
    paraphrases = sum(r["source"] == "paraphrase" for r in dataset)
    assert paraphrases / len(dataset) <= 0.30
    ctx = checks.CheckContext.build()
    for record in dataset:  # every record passes the checks from the file alone
        assert checks.check_sample(Sample.from_json(record), ctx) is None, record["id"]
        assert record["meta"]["request_key"] and record["meta"]["batch_id"]
    shards_before = shard_keys(cfg.parent / "batches")
    again = invoke(cfg, "run")
    assert again.exit_code == 0
    assert "sent 0 request(s)" in again.output
    assert shard_keys(cfg.parent / "batches") == shards_before


def test_dataset_is_byte_identical_from_the_same_cache(
    make_project: Callable[..., Path], tmp_path: Path
) -> None:
    a = make_project(seeds=10)
    b = make_project(seeds=10)
    assert invoke(a, "run").exit_code == 0
    assert invoke(b, "run").exit_code == 0
    data_a = (a.parent / "out" / "dataset.jsonl").read_bytes()
    # the same cache and config (copied elsewhere) rebuild to identical bytes
    copy = tmp_path / "copy"
    shutil.copytree(a.parent, copy)
    shutil.rmtree(copy / "out")
    assert invoke(copy / "forge.toml", "collect").exit_code == 0
    assert (copy / "out" / "dataset.jsonl").read_bytes() == data_a
    # a separate run of the same job differs only in the batch ids the server assigned
    strip = [_without_batch_id(line) for line in data_a.splitlines()]
    other = (b.parent / "out" / "dataset.jsonl").read_bytes().splitlines()
    assert strip == [_without_batch_id(line) for line in other]


def _without_batch_id(line: bytes) -> dict:
    record = json.loads(line)
    record["meta"].pop("batch_id")
    return record


def test_prepare_is_byte_identical_and_respects_limits(make_project: Callable[..., Path]) -> None:
    cfg = make_project(seeds=23, limits={"max_lines": 5, "max_bytes": 40_000})
    assert invoke(cfg, "prepare").exit_code == 0
    folder = cfg.parent / "batches"
    first = {p.name: p.read_bytes() for p in folder.glob("seed-*.jsonl")}
    assert len(first) >= 5
    for data in first.values():
        assert len(data.splitlines()) <= 5 and len(data) <= 40_000
    again = invoke(cfg, "prepare")
    assert "replaced" in again.output
    assert {p.name: p.read_bytes() for p in folder.glob("seed-*.jsonl")} == first
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["version"] == "fb-manifest/1"
    assert sum(s["lines"] for s in manifest["shards"]) == 23


def test_edit_one_tool_resends_only_its_requests(make_project: Callable[..., Path]) -> None:
    cfg = make_project(seeds=40, paraphrases_per_seed=1)
    assert invoke(cfg, "run").exit_code == 0
    conf = config.load(cfg)
    before = {r.key for _, r in _seed_requests(conf)}
    tools_path = cfg.parent / "tools.json"
    data = json.loads(tools_path.read_text())
    target = data["tools"][3]
    target["description"] = "Delete entities by name. Edited: also removes their relations."
    tools_path.write_text(json.dumps(data))
    after = dict(_seed_requests(config.load(cfg)))
    changed = {r.key for r in after.values()} - before
    includes = {spec for spec, r in after.items() if r.key in changed}
    for spec in includes:  # exactly the seeds that show the edited tool
        assert target["name"] in spec.targets or spec.scenario in plan.CATALOG_SCENARIOS
    unchanged = [
        s
        for s in after
        if target["name"] not in s.targets and s.scenario not in plan.CATALOG_SCENARIOS
    ]
    assert all(after[s].key in before for s in unchanged)
    sent_before = set(shard_keys(cfg.parent / "batches"))
    assert invoke(cfg, "prepare").exit_code == 0
    new = set(shard_keys(cfg.parent / "batches")) - sent_before
    assert new == changed  # round one: only the changed seeds
    result = invoke(cfg, "run")
    assert result.exit_code == 0
    resent = set(shard_keys(cfg.parent / "batches")) - sent_before
    paraphrase_keys = resent - changed
    assert all(k in resent for k in changed)
    # every other request of the new run came from the cache: the only paraphrase
    # requests sent are those of changed seeds (their user text changed)
    assert len(paraphrase_keys) <= len(changed)


def _seed_requests(conf: config.Config) -> list:
    from forge_batch.stages import seed_requests

    return list(seed_requests(conf, load_tools(conf.paths.tools)))


def test_status_json_contract(make_project: Callable[..., Path]) -> None:
    cfg = make_project(seeds=8)
    status = json.loads(invoke(cfg, "status", "--json").output)
    assert status["version"] == "fb-status/2"
    assert status["stages"]["seed"]["planned"] == 8 and status["stages"]["seed"]["pending"] == 8
    assert status["accounting"]["balanced"] is True
    assert invoke(cfg, "run").exit_code == 0
    status = json.loads(invoke(cfg, "status", "--json").output)
    seed = status["stages"]["seed"]
    assert seed["cached"] == 8 and seed["pending"] == 0
    assert seed["accepted"] + seed["rejected"] >= 1
    assert set(status) == {
        "version",
        "config",
        "engine",
        "stages",
        "dataset",
        "batches",
        "unsubmitted",
        "accounting",
    }
    assert all(b["state"] == "collected" for b in status["batches"])
    assert status["dataset"]["report"].endswith("report.md")
    # every key the status.py docstring lists (fb-status/2)
    assert set(status["stages"]) == {"seed", "paraphrase", "judge"}
    assert all(
        set(stage)
        == {
            "planned",
            "cached",
            "pending",
            "in_flight",
            "retrying",
            "failed",
            "failed_reasons",
            "samples",
            "accepted",
            "rejected",
        }
        for stage in status["stages"].values()
    )
    assert set(status["dataset"]) == {
        "samples",
        "by_source",
        "rejects_by_check",
        "path",
        "rejects",
        "report",
    }
    assert all(
        set(b) == {"file", "stage", "lines", "state", "batch_id", "status", "request_counts"}
        for b in status["batches"]
    )
    assert set(status["accounting"]) == {
        "planned",
        "answered",
        "pending",
        "failed",
        "balanced",
        "tokens",
    }
    assert set(status["accounting"]["tokens"]) == {
        "prompt",
        "completion",
        "reasoning",
        "truncated_by_reasoning",
    }


@pytest.mark.parametrize("command", ["prepare", "submit", "collect", "status", "run", "cancel"])
def test_every_command_has_help(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0
    assert "Reads" in result.output or "Writes" in result.output or "writes" in result.output


def test_prompt_text_matches_request_in_shards(make_project: Callable[..., Path]) -> None:
    cfg = make_project(seeds=6)
    invoke(cfg, "prepare")
    conf = config.load(cfg)
    toolset = load_tools(conf.paths.tools)
    expected = [
        keys.request_key(prompts.render_seed(s, toolset, conf))
        for s in plan.iter_seeds(conf, toolset)
    ]
    assert shard_keys(cfg.parent / "batches") == expected


def test_every_shard_line_is_valid_batch_input(make_project: Callable[..., Path]) -> None:
    from strict_rules import line_violations

    for tools in (
        "mcp-filesystem.tools.json",
        "openai_tools.json",
        "bfcl_functions.json",
        "generator_tools.json",
    ):
        cfg = make_project(
            tools=Path(__file__).parent / "data" / tools, seeds=60, scenarios={"multi_turn": 0.05}
        )
        assert invoke(cfg, "prepare").exit_code == 0
        for path in (cfg.parent / "batches").glob("seed-*.jsonl"):
            for line in path.read_bytes().splitlines():
                assert line_violations(line) == [], (tools, line[:120])


@pytest.mark.parametrize(
    "name",
    [
        "bfcl_functions.json",
        "generator_tools.json",
        "mcp-filesystem.tools.json",
        "openai_tools.json",
    ],
)
def test_tools_check_command(name: str) -> None:
    path = Path(__file__).parent / "data" / name
    result = CliRunner().invoke(cli, ["tools", "check", str(path)])
    assert result.exit_code == 0
    assert "tool(s) usable" in result.output and "skipped" in result.output


def test_status_writes_nothing(make_project: Callable[..., Path]) -> None:
    cfg = make_project(seeds=4)

    def snapshot() -> dict[str, float]:
        return {str(p): p.stat().st_mtime for p in cfg.parent.rglob("*")}

    before = snapshot()
    assert invoke(cfg, "status").exit_code == 0
    assert snapshot() == before
    assert invoke(cfg, "run").exit_code == 0
    before = snapshot()
    assert invoke(cfg, "status", "--json").exit_code == 0
    assert snapshot() == before
