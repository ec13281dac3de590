"""The shape of the code: the data flow's import order, stages as registered objects,
every request rendered once per command, status that never builds."""

from __future__ import annotations

import ast
import dataclasses
import statistics
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from forge_batch import config as config_mod
from forge_batch import judging, keys, stages, stats
from forge_batch.cli import cli
from forge_batch.index import RequestIndex, inputs_fingerprint, write_stored
from forge_batch.status import status
from forge_batch.tools import load_tools

SRC = Path(__file__).resolve().parent.parent / "src" / "forge_batch"

# The data flow, earliest first; a module may import its own layer and earlier ones.
FLOW: list[tuple[str, ...]] = [
    ("tools",),  # the package: reading, formats, schema, strict conversion, MCP import
    ("plan", "hints"),
    ("prompts", "keys", "context"),
    ("shards",),
    ("ledger", "keyset"),
    ("response", "cache"),
    ("records", "parse", "real"),
    ("checks",),
    ("dedup",),
    ("merge",),
    ("formats",),
]


def _imports(path: Path) -> set[str]:
    """Top-level forge_batch modules ``path`` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text())
    package = path.parent.relative_to(SRC.parent).parts  # ("forge_batch", ...)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = list(package[: len(package) - node.level + 1])
            parts = base + (node.module.split(".") if node.module else [])
            if len(parts) > 1:
                found.add(parts[1])
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("forge_batch."):
            found.add(node.module.split(".")[1])
    return found


def _files(name: str) -> list[Path]:
    folder = SRC / name
    if folder.is_dir():
        return sorted(folder.rglob("*.py"))
    return [SRC / f"{name}.py"] if (SRC / f"{name}.py").exists() else []


def test_no_module_imports_one_later_in_the_data_flow() -> None:
    layer = {m: i for i, mods in enumerate(FLOW) for m in mods}
    problems = []
    for name, i in layer.items():
        for path in _files(name):
            for imported in _imports(path):
                if layer.get(imported, -1) > i:
                    problems.append(f"{path.relative_to(SRC)} imports {imported}")
    assert not problems


def _closure(name: str) -> set[str]:
    seen, todo = set(), [name]
    while todo:
        mod = todo.pop()
        if mod in seen:
            continue
        seen.add(mod)
        for path in _files(mod):
            todo += [m for m in _imports(path) if (SRC / m).is_dir() or (SRC / f"{m}.py").exists()]
    return seen


@pytest.mark.parametrize("command", ["prepare", "status"])
def test_prepare_and_status_do_not_reach_the_build(command: str) -> None:
    assert "build" not in _closure(command)


def test_stages_are_registered_objects() -> None:
    assert tuple(s.name for s in stages.STAGES) == stages.NAMES
    assert len(set(stages.NAMES)) == len(stages.NAMES)
    for stage in stages.STAGES:
        assert all(stages.NAMES.index(i) < stages.NAMES.index(stage.name) for i in stage.inputs)
    # one registry: the report and the stats name the same stages
    from forge_batch import report

    assert report.STAGES == stages.NAMES and list(stats.Stats().stages) == list(stages.NAMES)


def _count_renders(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    rendered: Counter[str] = Counter()
    real = RequestIndex.render

    def counting(self: RequestIndex, stage: stages.Stage, spec: object) -> stages.Request:
        req = real(self, stage, spec)
        rendered[req.key] += 1
        return req

    monkeypatch.setattr(RequestIndex, "render", counting)
    return rendered


def test_one_run_renders_each_request_once_and_status_none(
    make_project: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = make_project(seeds=10, paraphrases_per_seed=2)
    rendered = _count_renders(monkeypatch)
    result = CliRunner().invoke(cli, ["-c", str(cfg), "run"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    st = status(config_mod.load(cfg))
    planned = sum(s["planned"] for s in st["stages"].values())
    assert st["stages"]["paraphrase"]["planned"] > 0
    assert len(rendered) == planned and max(rendered.values()) == 1, rendered.most_common(3)
    rendered.clear()
    judged: Counter[str] = Counter()
    real_response = judging.Judge.response

    def counting(self: judging.Judge, stage: stages.Stage, *args: object) -> object:
        judged[stage.name] += 1
        return real_response(self, stage, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(judging.Judge, "response", counting)
    for command in ("status", "prepare", "collect", "status"):  # nothing changed: no rendering
        assert CliRunner().invoke(cli, ["-c", str(cfg), command]).exit_code == 0
        assert not rendered, command
        # prepare and status plan the paraphrases from the accepted record: no judging
        assert not judged or command == "collect", (command, judged)
        judged.clear()


def test_specs_round_trip_through_the_accepted_record(make_project: Callable[..., Path]) -> None:
    conf = config_mod.load(make_project(seeds=20))
    toolset = load_tools(conf.paths.tools)
    specs = list(stages.SEED.plan(conf, toolset))
    para = stages.ParaphraseSpec("abc", "standard", "Find Ada's notes", ("Ada",))
    for stage, spec in [(stages.SEED, s) for s in specs] + [(stages.PARAPHRASE, para)]:
        data = orjson.loads(orjson.dumps(stage.to_json(spec)))
        assert stage.from_json(data) == spec


def test_status_of_a_100k_project_renders_nothing_and_is_quick(
    make_project: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = make_project(seeds=100_000)
    conf = config_mod.load(cfg)
    toolset = load_tools(conf.paths.tools)
    # what a prepare of this project stores, fabricated (rendering 100k requests takes 10 s)
    fake = [keys.key_of(str(i).encode()) for i in range(100_000)]
    conf.paths.batches.mkdir()
    write_stored(conf.paths.batches, inputs_fingerprint(conf, toolset), {"seed": fake})
    rendered = _count_renders(monkeypatch)
    started = time.perf_counter()
    st = status(conf)
    elapsed = time.perf_counter() - started
    assert not rendered
    assert st["stages"]["seed"]["planned"] == st["stages"]["seed"]["pending"] == 100_000
    assert st["accounting"]["balanced"]
    assert elapsed < 2.0, elapsed


def test_the_build_is_byte_identical_with_worker_processes(
    make_project: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from forge_batch import build, examine

    cfg = make_project(seeds=40, paraphrases_per_seed=2)
    assert CliRunner().invoke(cli, ["-c", str(cfg), "run"]).exit_code == 0  # small: in process
    out = cfg.parent / "out"
    files = ("dataset.jsonl", "rejects.jsonl", "report.md")
    alone = {name: (out / name).read_bytes() for name in files}
    started = []
    real_workers = examine.Examiner._workers

    def workers(self: examine.Examiner) -> object:
        started.append(1)
        return real_workers(self)

    monkeypatch.setattr(examine.Examiner, "_workers", workers)
    monkeypatch.setattr(examine, "MIN_PARALLEL", 0)
    monkeypatch.setenv("FORGE_BATCH_WORKERS", "2")
    if examine._cores() < 2:
        pytest.skip("one core: no worker processes")
    build.build(config_mod.load(cfg))
    assert started  # the passes really ran in worker processes
    assert {name: (out / name).read_bytes() for name in files} == alone


def test_stored_build_stats_keep_every_counter() -> None:
    """What status reads back from out/.build-stats.json is what the build counted."""
    counted = stats.Stats()
    for n, f in enumerate(dataclasses.fields(counted), 1):
        if f.type in ("int", "int | None"):
            setattr(counted, f.name, n)
    counted.rejects = {"schema": 2}
    counted.kept = {("standard", "get_weather", "seed"): 3}
    counted.update("planned", stage="seed", n=4)
    counted.judge.add(0.5, ["value"], "a value was invented")
    stored = orjson.loads(orjson.dumps(counted.to_json()))
    assert stats.Stats.from_json(stored) == counted


def test_modules_stay_small() -> None:
    """Issue 10's bound: no module over 400 lines, and the median under 150 (one job each)."""
    sizes = {str(p.relative_to(SRC)): len(p.read_text().splitlines()) for p in SRC.rglob("*.py")}
    big = {name: n for name, n in sizes.items() if n > 400}
    assert not big, f"split these modules: {big}"
    assert statistics.median(sizes.values()) < 150
