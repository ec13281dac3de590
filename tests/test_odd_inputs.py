"""Odd paths, special files, deep nesting, control characters and misplaced options.

What a hostile or unlucky user can hand forge-batch beyond a malformed file
(issue 13, items 4-9 and 13): each must end in one ``Error: ...`` line that
names the file, the place and the problem, exit code 2, no traceback, and
nothing written in the project (no lock, no folder, no cache entry).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner, Result
from conftest import ROOT, TESTS, write_toml
from doubles import FakeModel

from forge_batch.cli import cli

ENV: dict[str, str | None] = {
    "FORGE_BATCH_DEBUG": None,
    "FORGE_BATCH_CONFIG": None,
    "OPENAI_API_KEY": None,
}
ENGINE = {"kind": "local", "executor": f"{TESTS / 'doubles.py'}:FakeModel", "poll_interval": 0.0}
LONG = "t" * 300 + ".json"


def snapshot(root: Path) -> dict[str, tuple[bytes | None, int]]:
    """Every entry under root (bytes of files, mtimes of all); special files are not read."""
    snap: dict[str, tuple[bytes | None, int]] = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        regular = p.is_file() and not p.is_symlink() and st.st_size < 1 << 20
        snap[p.relative_to(root).as_posix()] = (p.read_bytes() if regular else None, st.st_mtime_ns)
    return snap


def project(root: Path, memory_tools: Path, **settings: Any) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(memory_tools, root / "tools.json")
    values = {"tools": "tools.json", "seeds": 4, "paraphrases_per_seed": 1, "random_seed": 7}
    values.update(settings)
    values.setdefault("engine", ENGINE)
    write_toml(root / "forge.toml", values)
    return root / "forge.toml"


def invoke(args: list[str], cwd: Path) -> Result:
    old = Path.cwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(cli, args, env=ENV)
    finally:
        os.chdir(old)


def assert_refused(result: Result, *words: str) -> str:
    """Exit 2, no traceback, exactly one 'Error: ' line holding every word."""
    err = result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output + err
    assert result.exit_code == 2, result.output + err
    assert result.stdout == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), err
    for word in words:
        assert word in lines[0], f"{word!r} not in {lines[0]}"
    return lines[0]


def refused_unchanged(base: Path, args: list[str], *words: str) -> str:
    before = snapshot(base)
    line = assert_refused(invoke(args, base), *words)
    after = snapshot(base)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"{args} changed {changed}"
    return line


# -- item 4: odd paths -----------------------------------------------------------


def _loop(folder: Path, name: str) -> Path:
    (folder / name).symlink_to(folder / f"{name}-2")
    (folder / f"{name}-2").symlink_to(folder / name)
    return folder / name


ODD_TOOLS: dict[str, tuple[Callable[[Path], str], str]] = {
    "symlink loop": (lambda d: _loop(d, "loop.json").name, "symlink loop"),
    "under a regular file": (
        lambda d: ((d / "f").write_text("x"), "f/tools.json")[1],
        "a part of the path is a file, not a folder",
    ),
    "300-character name": (lambda d: LONG, "file name too long"),
}


@pytest.mark.parametrize("case", sorted(ODD_TOOLS))
def test_odd_tools_path(case: str, tmp_path: Path, memory_tools: Path) -> None:
    make, problem = ODD_TOOLS[case]
    root = tmp_path / "p"
    root.mkdir()
    rel = make(root)
    config = project(root, memory_tools, tools=rel)
    refused_unchanged(tmp_path, ["tools", "check", str(root / rel)], problem, rel[:40])
    for command in (["prepare"], ["status"], ["collect"], ["run"]):
        refused_unchanged(tmp_path, ["-c", str(config), *command], problem, "named by 'tools'")


ODD_FOLDERS: dict[str, tuple[Callable[[Path], str], str]] = {
    "the config file": (lambda d: "forge.toml/cache", "forge.toml is a file, not a folder"),
    "symlink loop": (lambda d: _loop(d, "loop").name, "symlink loop"),
    "300-character name": (lambda d: "c" * 300, "a name is longer than"),
    "under a file": (
        lambda d: ((d / "f").write_text("x"), "f/sub/cache")[1],
        "f is a file, not a folder",
    ),
}


@pytest.mark.parametrize("case", sorted(ODD_FOLDERS))
@pytest.mark.parametrize("key", ["cache", "batches", "out"])
def test_odd_working_folder(case: str, key: str, tmp_path: Path, memory_tools: Path) -> None:
    """Refused when the config loads: before the project lock (batches/.lock) exists."""
    make, problem = ODD_FOLDERS[case]
    root = tmp_path / "p"
    root.mkdir()
    config = project(root, memory_tools, paths={key: make(root)})
    for command in (["prepare"], ["status"], ["collect"], ["run"]):
        refused_unchanged(tmp_path, ["-c", str(config), *command], "forge.toml", problem)
    assert not (root / "batches").exists()


def test_config_file_itself_at_an_odd_path(tmp_path: Path) -> None:
    _loop(tmp_path, "loop.toml")
    (tmp_path / "f").write_text("x")
    refused_unchanged(tmp_path, ["-c", "loop.toml", "prepare"], "loop.toml", "symlink loop")
    refused_unchanged(tmp_path, ["-c", "f/forge.toml", "status"], "f/forge.toml", "not a folder")
    refused_unchanged(tmp_path, ["-c", LONG, "prepare"], "file name too long")


def test_output_paths_checked_before_any_work(tmp_path: Path, memory_tools: Path) -> None:
    """init and tools import refuse an unusable output path up front."""
    (tmp_path / "f").write_text("x")
    shutil.copy(memory_tools, tmp_path / "tools.json")
    refused_unchanged(tmp_path, ["init", "--tools", "tools.json", "f/proj"], "f is a file")
    # The server command is never started: the path is checked first.
    refused_unchanged(
        tmp_path,
        ["tools", "import", "--server", "definitely-not-run-xyz", "-o", "f/tools.json"],
        "cannot write the tools file",
        "f is a file, not a folder",
    )


# -- item 5: unbounded reads (real processes: a hang or a 1 GB read must not pass) -


def _limited() -> None:
    limit = 2 << 30  # a read of /dev/zero into memory dies here instead of swapping
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "forge-batch"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORGE_BATCH_")}
    return subprocess.run(
        [str(exe), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_limited,
    )


SPECIAL: dict[str, tuple[Callable[[Path], Path], str]] = {
    "/dev/zero": (lambda d: Path("/dev/zero"), "is a device, not a regular file"),
    "FIFO": (lambda d: (os.mkfifo(d / "fifo"), d / "fifo")[1], "is a FIFO, not a regular file"),
    "1 GB file": (
        lambda d: (os.truncate((d / "big").open("wb").name, 1 << 30), d / "big")[1],
        "is 1073741824 bytes; the limit is",
    ),
}


@pytest.mark.parametrize("case", sorted(SPECIAL))
def test_special_files_are_refused(case: str, tmp_path: Path, memory_tools: Path) -> None:
    make, problem = SPECIAL[case]
    root = tmp_path / "p"
    root.mkdir()
    special = make(root)
    config = project(root, memory_tools, tools=str(special))
    before = snapshot(tmp_path)
    runs = {
        "tools check": _run(["tools", "check", str(special)], tmp_path),
        "tools in forge.toml": _run(["-c", str(config), "prepare"], tmp_path),
        "forge.toml": _run(["-c", str(special), "prepare"], tmp_path),
    }
    for what, proc in runs.items():
        lines = proc.stderr.splitlines()
        assert proc.returncode == 2, f"{what}: {proc.stderr[-2000:]}"
        assert len(lines) == 1 and lines[0].startswith("Error: "), f"{what}: {proc.stderr}"
        assert problem in lines[0] and special.name in lines[0], f"{what}: {lines[0]}"
    assert snapshot(tmp_path) == before


def test_streamed_files_must_be_regular(tmp_path: Path, memory_tools: Path) -> None:
    """Real data and imported Batch files are streamed, and refused unless regular files."""
    root = tmp_path / "p"
    root.mkdir()
    os.mkfifo(root / "real.fifo")
    config = project(root, memory_tools, real=["real.fifo"])
    refused_unchanged(tmp_path, ["-c", str(config), "prepare"], "real data file is a FIFO")
    config = project(root, memory_tools)
    refused_unchanged(
        tmp_path, ["-c", str(config), "collect", "--import", str(root / "real.fifo")], "FIFO"
    )


def test_export_paths(tmp_path: Path, memory_tools: Path) -> None:
    """export reads only a regular dataset file and checks where it writes first."""
    config = project(tmp_path / "p", memory_tools)
    os.mkfifo(tmp_path / "data.fifo")
    (tmp_path / "f").write_text("x")
    (tmp_path / "data.jsonl").write_text("")
    cfg = ["-c", str(config), "export", "--format", "openai"]
    refused_unchanged(
        tmp_path, [*cfg, "--input", "data.fifo", "-o", "x.jsonl"], "dataset file is a FIFO"
    )
    refused_unchanged(
        tmp_path, [*cfg, "--input", "data.jsonl", "-o", "f/x.jsonl"], "f is a file, not a folder"
    )
    refused_unchanged(
        tmp_path, [*cfg, "--input", "data.jsonl", "-o", LONG], "cannot write the export"
    )


# -- item 6: deep nesting --------------------------------------------------------


def test_deeply_nested_config_and_tools(tmp_path: Path, memory_tools: Path) -> None:
    root = tmp_path / "p"
    config = project(root, memory_tools)
    deep = root / "deep.toml"
    deep.write_text('tools = "tools.json"\nreal = ' + "[" * 5000 + "]" * 5000 + "\n")
    refused_unchanged(tmp_path, ["-c", str(deep), "prepare"], "deep.toml", "nested deeper than")
    inline = root / "inline.toml"
    inline.write_text('tools = "tools.json"\nx = ' + "{a=" * 3000 + "1" + "}" * 3000 + "\n")
    refused_unchanged(tmp_path, ["-c", str(inline), "status"], "inline.toml", "nested deeper")
    huge = root / "huge.toml"
    huge.write_text('tools = "tools.json"\nseeds = ' + "7" * 5000 + "\n")
    refused_unchanged(tmp_path, ["-c", str(huge), "prepare"], "huge.toml", "4300 digits")
    (root / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (root / "bigint.json").write_text('{"tools": [' + "9" * 5000 + "]}")
    for name, problem in (("deep.json", "nested deeper than"), ("bigint.json", "4300 digits")):
        refused_unchanged(tmp_path, ["tools", "check", str(root / name)], name, problem)
        write_toml(root / "forge.toml", {"tools": name, "engine": ENGINE})
        refused_unchanged(tmp_path, ["-c", str(config), "prepare"], name, problem)


# -- item 7: control characters ----------------------------------------------------


def test_control_characters_are_escaped(tmp_path: Path, memory_tools: Path) -> None:
    root = tmp_path / "p"
    config = project(root, memory_tools)
    # TOML escapes, so the file itself is valid; the path it names is hostile.
    config.write_text('tools = "x\\u001b[2J\\r\\u2028\\u202e.json"\n')
    line = refused_unchanged(tmp_path, ["-c", str(config), "prepare"], "tools file not found")
    for raw in ("\x1b", "\r", "\u2028", "\u202e"):
        assert raw not in line
    assert "\\x1b[2J\\r\\u2028\\u202e.json" in line
    bad = root / "bad.json"
    bad.write_text(json.dumps({"tools": [{"name": "a\rb\x1b[2J", "inputSchema": 3}]}))
    line = refused_unchanged(tmp_path, ["tools", "check", str(bad)], "inputSchema")
    assert "\x1b" not in line and "\r" not in line


# -- item 8: collect --import checks the engine before writing ------------------------


def test_import_without_api_key_writes_nothing(tmp_path: Path, memory_tools: Path) -> None:
    root = tmp_path / "p"
    config = project(root, memory_tools, engine={"kind": "openai", "poll_interval": 0.0})
    assert invoke(["-c", str(config), "prepare"], tmp_path).exit_code == 0
    model = FakeModel()
    lines = []
    for shard in sorted((root / "batches").glob("seed-*.jsonl")):
        for raw in shard.read_bytes().splitlines():
            request = orjson.loads(raw)
            _, body = model(request["body"])
            response = {"status_code": 200, "request_id": "r", "body": body}
            lines.append({"custom_id": request["custom_id"], "response": response, "error": None})
    answers = root / "answers.jsonl"
    answers.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    refused_unchanged(
        tmp_path,
        ["-c", str(config), "collect", "--import", str(answers)],
        "OPENAI_API_KEY is not set",
    )


# -- item 9: -c after the command ----------------------------------------------------


def test_config_option_after_the_command(tmp_path: Path, memory_tools: Path) -> None:
    config = project(tmp_path / "p", memory_tools)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    before = invoke(["-c", str(config), "status", "--json"], elsewhere)
    after = invoke(["status", "-c", str(config), "--json"], elsewhere)
    long = invoke(["status", "--json", "--config", str(config)], elsewhere)
    assert before.exit_code == 0, before.output
    assert after.exit_code == 0, after.output
    assert before.stdout == after.stdout == long.stdout
    # After the command wins over before it, as a later option does.
    assert invoke(["-c", "nope.toml", "prepare", "-c", str(config)], elsewhere).exit_code == 0
    refused_unchanged(elsewhere, ["-c", str(config), "status", "-c", "nope.toml"], "nope.toml")
    for command in ("prepare", "submit", "collect", "status", "cancel", "run", "export"):
        text = invoke([command, "--help"], elsewhere).stdout
        assert "-c, --config PATH" in text, command


# -- item 13 (tools part) ---------------------------------------------------------------


def test_tools_check_says_what_changed(tmp_path: Path, memory_tools: Path) -> None:
    result = invoke(["tools", "check", str(memory_tools)], tmp_path)
    assert result.exit_code == 0, result.output
    assert "converted unchanged" not in result.stdout
    assert "additionalProperties: false added to (root)" in result.stdout
    strict_tool = {
        "name": "ping",
        "description": "Ping a host.",
        "inputSchema": {
            "type": "object",
            "properties": {"host": {"type": "string"}},
            "required": ["host"],
            "additionalProperties": False,
        },
    }
    optional = json.loads(json.dumps(strict_tool))
    optional["inputSchema"]["required"] = []
    (tmp_path / "t.json").write_text(json.dumps({"tools": [strict_tool]}))
    assert (
        "ok      ping: converted unchanged" in invoke(["tools", "check", "t.json"], tmp_path).stdout
    )
    (tmp_path / "t.json").write_text(json.dumps({"tools": [optional]}))
    text = invoke(["tools", "check", "t.json"], tmp_path).stdout
    assert "optional properties made required and nullable: host" in text


def test_unrecognised_tools_file_says_so(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text(json.dumps({"servers": [], "version": 2}))
    refused_unchanged(
        tmp_path,
        ["tools", "check", "x.json"],
        "not a tools file in any known format",
        "'servers', 'version'",
        "tried MCP tools/list, OpenAI tools, BFCL functions and Generator parameter lists",
    )


NPM_STDERR = """npm error code E404
npm error 404 Not Found - GET https://registry.npmjs.org/@x%2fnope - Not found
npm error 404
npm error 404  '@x/nope@*' is not in this registry.
npm error A complete log of this run can be found in: /root/.npm/_logs/x-debug-0.log
"""


@pytest.mark.parametrize(
    ("stderr", "said"),
    [
        (NPM_STDERR, "npm error 404 Not Found - GET https://registry.npmjs.org/@x%2fnope"),
        ("starting\nboom: bad flag --frob\n", "boom: bad flag --frob"),
    ],
)
def test_failed_mcp_import_shows_the_servers_own_line(
    stderr: str, said: str, tmp_path: Path
) -> None:
    script = tmp_path / "server.py"
    script.write_text(f"import sys\nsys.stderr.write({stderr!r})\nsys.exit(1)\n")
    server = f"{sys.executable} {script}"
    line = refused_unchanged(
        tmp_path,
        ["tools", "import", "--server", server, "-o", "out.json", "--timeout", "60"],
        f"server said: {said}",
    )
    assert "ExceptionGroup" not in line and "TaskGroup" not in line


# -- item 12: README ------------------------------------------------------------------


def test_readme_says_where_commands_run_and_how_long_the_demo_takes() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "source .venv/bin/activate" in readme
    assert "from the repository root" in readme
    assert "busy machine" in readme and "make test" in readme
