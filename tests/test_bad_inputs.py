"""Every broken file in tests/bad_inputs/ through the real CLI.

The rule: bad input gets a one-line ``Error: ...`` that names the file, the
place and the problem; exit code 2; no traceback; and the project is left
byte-for-byte as it was (no new file, folder, lock or temp file either).
``FORGE_BATCH_DEBUG=1`` shows the traceback instead.

The expected place and problem of each file are the table in
tests/bad_inputs/README.md. Most runs use click's CliRunner in-process (fast);
a few go through the installed ``forge-batch`` command in real subprocesses.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import TESTS, write_toml

from forge_batch.cli import cli
from forge_batch.errors import ToolsError

CORPUS = TESTS / "bad_inputs"
ROW = re.compile(r"^\| `([^`]+)` \| (?:`([^`]*)`|-) \| `([^`]+)` \|$")
# Unset for the in-process runs: the messages, not tracebacks, are under test.
ENV: dict[str, str | None] = {"FORGE_BATCH_DEBUG": None, "FORGE_BATCH_CONFIG": None}
ENGINE = {
    "kind": "local",
    "executor": str(TESTS / "doubles.py") + ":FakeModel",
    "poll_interval": 0.0,
}


def _table() -> dict[str, tuple[str | None, str]]:
    rows = {}
    for line in (CORPUS / "README.md").read_text(encoding="utf-8").splitlines():
        if m := ROW.match(line):
            rows[m[1]] = (m[2], m[3])
    return rows


EXPECTED = _table()
FILES = sorted(
    p.relative_to(CORPUS).as_posix()
    for p in CORPUS.rglob("*")
    if p.is_file() and p.name != "README.md"
)


def _of(kind: str) -> list[str]:
    return [f for f in FILES if f.startswith(kind + "/")]


def _settings(tools: str = "tools.json", **extra: Any) -> dict[str, Any]:
    return {
        "tools": tools,
        "seeds": 4,
        "paraphrases_per_seed": 1,
        "random_seed": 7,
        **extra,
        "engine": ENGINE,
    }


def _new_project(root: Path, memory_tools: Path, **settings: Any) -> Path:
    root.mkdir(parents=True)
    shutil.copy(memory_tools, root / "tools.json")
    write_toml(root / "forge.toml", _settings(**settings))
    return root / "forge.toml"


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose seed shard is written (prepare ran once, good inputs)."""
    from conftest import _find_example

    root = tmp_path_factory.mktemp("prepared") / "project"
    config = _new_project(root, _find_example("mcp-memory.tools.json"))
    result = CliRunner().invoke(cli, ["-c", str(config), "prepare"], env=ENV)
    assert result.exit_code == 0, result.output
    assert list((root / "batches").glob("seed-*.jsonl"))
    return root


def snapshot(root: Path) -> dict[str, tuple[bytes | None, int]]:
    """Every file's bytes and every entry's mtime under root (folders included)."""
    snap: dict[str, tuple[bytes | None, int]] = {".": (None, root.stat().st_mtime_ns)}
    for p in sorted(root.rglob("*")):
        data = p.read_bytes() if p.is_file() else None
        snap[p.relative_to(root).as_posix()] = (data, p.lstat().st_mtime_ns)
    return snap


def invoke(args: list[str]) -> Result:
    return CliRunner().invoke(cli, args, catch_exceptions=False, env=ENV)


def assert_refused(result: Result | subprocess.CompletedProcess[str], rel: str, base: Path) -> None:
    """Exit 2, one 'Error: ' line naming file, place and problem, nothing on stdout."""
    place, problem = EXPECTED[rel]
    code = result.exit_code if isinstance(result, Result) else result.returncode
    out, err = result.stdout, result.stderr
    assert "Traceback" not in out + err
    assert code == 2, out + err
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith("Error: "), line
    assert Path(rel).name in line, f"does not name the file: {line}"
    if place:
        assert place in line.replace(str(base), ""), f"does not name {place!r}: {line}"
    assert problem in line, f"does not say {problem!r}: {line}"


def refuse_all(base: Path, rel: str, commands: list[list[str]]) -> None:
    """Each command is refused and leaves everything under base untouched."""
    before = snapshot(base)
    for args in commands:
        assert_refused(invoke(args), rel, base)
        after = snapshot(base)
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        assert not changed, f"{' '.join(args[-2:])} changed {changed}"


@pytest.fixture
def base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The snapshot root; also the working folder, so stray relative writes show."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_every_file_has_a_row_and_every_row_a_file() -> None:
    assert set(FILES) == set(EXPECTED)
    assert len(FILES) >= 30
    for kind in ("tools", "config", "output", "real"):
        assert _of(kind), kind


@pytest.mark.parametrize("rel", _of("tools"))
def test_bad_tools_file(rel: str, base: Path, memory_tools: Path) -> None:
    root = base / "project"
    name = Path(rel).name
    config = _new_project(root, memory_tools, tools=name)
    shutil.copy(CORPUS / rel, root / name)
    cfg = ["-c", str(config)]
    refuse_all(
        base,
        rel,
        [
            ["tools", "check", str(root / name)],
            [*cfg, "prepare"],
            [*cfg, "status"],
            [*cfg, "collect"],
            [*cfg, "run"],
        ],
    )


@pytest.mark.parametrize("rel", _of("config"))
def test_bad_config_file(rel: str, base: Path, memory_tools: Path) -> None:
    root = base / "project"
    _new_project(root, memory_tools)
    config = root / Path(rel).name
    shutil.copy(CORPUS / rel, config)
    cfg = ["-c", str(config)]
    refuse_all(base, rel, [[*cfg, "prepare"], [*cfg, "status"], [*cfg, "collect"]])


@pytest.mark.parametrize("rel", _of("output"))
def test_bad_batch_output_file(rel: str, base: Path, prepared: Path) -> None:
    root = base / "project"
    shutil.copytree(prepared, root)
    bad = root / Path(rel).name
    shutil.copy(CORPUS / rel, bad)
    cfg = ["-c", str(root / "forge.toml")]
    refuse_all(base, rel, [[*cfg, "collect", "--import", str(bad)]])


@pytest.mark.parametrize("rel", _of("real"))
def test_bad_real_file(rel: str, base: Path, prepared: Path, memory_tools: Path) -> None:
    name = Path(rel).name
    # A fresh project: prepare and status must not create batches/, cache/ or out/.
    fresh = base / "fresh"
    config = _new_project(fresh, memory_tools, real=[name])
    shutil.copy(CORPUS / rel, fresh / name)
    cfg = ["-c", str(config)]
    refuse_all(base, rel, [[*cfg, "prepare"], [*cfg, "status"]])
    # A prepared project: collect and run read real files before they touch anything.
    root = base / "project"
    shutil.copytree(prepared, root)
    write_toml(root / "forge.toml", _settings(real=[name]))
    shutil.copy(CORPUS / rel, root / name)
    cfg = ["-c", str(root / "forge.toml")]
    refuse_all(base, rel, [[*cfg, "prepare"], [*cfg, "status"], [*cfg, "collect"], [*cfg, "run"]])


def test_debug_env_shows_the_traceback_in_process(base: Path) -> None:
    bad = base / "invalid_json.json"
    shutil.copy(CORPUS / "tools/invalid_json.json", bad)
    with pytest.raises(ToolsError, match="invalid JSON"):
        CliRunner().invoke(
            cli,
            ["tools", "check", str(bad)],
            catch_exceptions=False,
            env={"FORGE_BATCH_DEBUG": "1"},
        )


def _installed() -> Path:
    exe = Path(sys.executable).parent / "forge-batch"
    if not exe.exists():
        found = shutil.which("forge-batch")
        if not found:
            pytest.skip("forge-batch is not installed")
        exe = Path(found)
    return exe


def test_installed_command(base: Path, prepared: Path, memory_tools: Path) -> None:
    """Real processes: exit status and stderr of the installed forge-batch (run side by side).

    One case per kind of file; the real-data one runs with FORGE_BATCH_DEBUG=1
    and must show the traceback instead of the one-line message.
    """
    exe = str(_installed())
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORGE_BATCH_")}
    tools_bad = base / "invalid_json.json"
    shutil.copy(CORPUS / "tools/invalid_json.json", tools_bad)
    cfg_root = base / "cfg"
    _new_project(cfg_root, memory_tools)
    shutil.copy(CORPUS / "config/typo_key.toml", cfg_root / "typo_key.toml")
    out_root = base / "out"
    shutil.copytree(prepared, out_root)
    shutil.copy(CORPUS / "output/truncated_line.jsonl", out_root / "truncated_line.jsonl")
    real_root = base / "real"
    _new_project(real_root, memory_tools, real=["no_messages.jsonl"])
    shutil.copy(CORPUS / "real/no_messages.jsonl", real_root / "no_messages.jsonl")
    cases = {
        "tools/invalid_json.json": [exe, "tools", "check", str(tools_bad)],
        "config/typo_key.toml": [exe, "-c", str(cfg_root / "typo_key.toml"), "prepare"],
        "output/truncated_line.jsonl": [
            exe,
            "-c",
            str(out_root / "forge.toml"),
            "collect",
            "--import",
            str(out_root / "truncated_line.jsonl"),
        ],
    }
    before = snapshot(base)
    procs = {
        rel: subprocess.Popen(
            args, cwd=base, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for rel, args in cases.items()
    }
    debug = subprocess.Popen(
        [exe, "-c", str(real_root / "forge.toml"), "prepare"],
        cwd=base,
        env={**env, "FORGE_BATCH_DEBUG": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for rel, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        assert_refused(subprocess.CompletedProcess(proc.args, proc.returncode, out, err), rel, base)
    _, err = debug.communicate(timeout=120)
    assert debug.returncode != 0
    assert "Traceback (most recent call last)" in err
    assert "InputError" in err and "expected an object with a 'messages' list" in err
    assert snapshot(base) == before


def test_edges_that_must_still_load(tmp_path: Path) -> None:
    """The guards stop bad files only: good ones at the edges still load."""
    from forge_batch.tools import MAX_DEPTH, load_tools

    # JSON lines with CRLF, and U+2028 (a line break to str.splitlines) inside a string.
    tool = {"name": "a", "description": "one\u2028two", "inputSchema": {"type": "object"}}
    lines = [json.dumps(t, ensure_ascii=False) for t in (tool, {**tool, "name": "b"})]
    (tmp_path / "tools.jsonl").write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    assert [t.name for t in load_tools(tmp_path / "tools.jsonl").tools] == ["a", "b"]
    # Nested exactly MAX_DEPTH deep: accepted, and nothing downstream recurses too far.
    node: dict[str, Any] = {"type": "string"}
    for _ in range(MAX_DEPTH - 6):
        node = {"type": "array", "items": node}
    deep = {"tools": [{"name": "d", "inputSchema": {"type": "object", "properties": {"x": node}}}]}
    (tmp_path / "deep.json").write_text(json.dumps(deep))
    assert [t.name for t in load_tools(tmp_path / "deep.json").tools] == ["d"]
    node = {"type": "array", "items": node}
    deep["tools"][0]["inputSchema"]["properties"]["x"] = node
    (tmp_path / "deeper.json").write_text(json.dumps(deep))
    with pytest.raises(ToolsError, match=f"deeper than {MAX_DEPTH}"):
        load_tools(tmp_path / "deeper.json")
