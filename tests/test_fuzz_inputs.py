"""Fuzz: generated malformed tools files and forge.toml configs through the real CLI.

Hypothesis builds tools files (the four formats with wrong types, broken
schemas, hostile strings, huge numbers, truncations, byte flips, deep nesting,
random bytes) and configs (every known key with values of the wrong type or
range, unknown keys, odd paths, text mutations of a good forge.toml). Each goes
through ``forge-batch tools check`` and ``forge-batch prepare``: in-process with
click's CliRunner for speed, and a few through the installed script in real
processes. The rule for every one:

- no traceback, and the exit code is 0 (the input happens to be valid) or 2;
- on exit 2, exactly one ``Error: ...`` line on stderr and nothing on stdout;
- on exit 2, nothing under the project changed (no file, folder, lock or temp).

Derandomized with fixed example counts, so a run is repeatable and its cost
known: 500 generated inputs, 806 commands, about 25 s on two busy cores. Most
inputs are a good file with one to three values made odd, so they get past the
first check and reach the deeper ones (against the code before issue 13 it
finds the 5,000-digit integer and the deeply nested TOML tracebacks).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from conftest import TESTS, _find_example
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forge_batch.cli import cli

TOOLS_EXAMPLES = 300
CONFIG_EXAMPLES = 200
PROCESS_EXAMPLES = 3
ENV: dict[str, str | None] = {"FORGE_BATCH_DEBUG": None, "FORGE_BATCH_CONFIG": None}
ENGINE = {"kind": "local", "executor": f"{TESTS / 'doubles.py'}:FakeModel", "poll_interval": 0.0}
MEMORY = _find_example("mcp-memory.tools.json")
FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# -- values ----------------------------------------------------------------------

HOSTILE = st.sampled_from(
    [
        "",
        " ",
        "\r",
        "\x1b[2J\x1b[H",
        "a\u2028b",
        "\u202eevil",
        "\x00",
        "\ud800",
        "名前",
        "x" * 300,
        "../../etc",
        "%s%n",
        "get_weather",
        "a",
    ]
)
TEXT = st.text(max_size=12) | HOSTILE
NUMBER = (
    st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([0, 1, -1, 2**63, 10**30])
)
LEAF = st.none() | st.booleans() | NUMBER | TEXT
JSON = st.recursive(
    LEAF,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=12,
)
NAME = st.sampled_from(["get_weather", "a", "dup", "x y", "", "a" * 70, "名前"]) | TEXT

TYPE = st.sampled_from(
    [
        *("string", "object", "array", "integer", "number", "boolean", "null"),
        *("dict", "float", "tuple", "any", "frobnicate", "String"),
    ]
) | st.lists(st.sampled_from(["string", "null", "integer"]), max_size=3)
LEAF_SCHEMA = st.fixed_dictionaries(
    {},
    optional={
        "type": TYPE | JSON,
        "description": TEXT | JSON,
        "enum": st.lists(LEAF, max_size=3) | JSON,
        "$ref": st.sampled_from(["#", "#/$defs/x", "#/properties/a", "http://x/y", "#/nowhere"]),
        "default": JSON,
        "format": st.sampled_from(["date-time", "email", "weird"]) | JSON,
        "pattern": st.sampled_from(["^[a-z]+$", "[a-z", "(", "\\"]),
        "minimum": NUMBER | JSON,
        "exclusiveMinimum": st.booleans() | NUMBER,
    },
)
SCHEMA = st.recursive(
    LEAF_SCHEMA,
    lambda inner: (
        st.fixed_dictionaries(
            {"type": st.sampled_from(["object", "dict"])},
            optional={
                "properties": st.dictionaries(NAME, inner, max_size=3) | JSON,
                "required": st.lists(NAME, max_size=3) | JSON,
                "additionalProperties": st.booleans() | inner,
                "$defs": st.dictionaries(st.just("x"), inner, max_size=1),
                "anyOf": st.lists(inner, max_size=3),
                "allOf": st.lists(inner, max_size=2),
                "oneOf": st.lists(inner, max_size=2),
            },
        )
        | st.fixed_dictionaries({"type": st.just("array")}, optional={"items": inner | JSON})
    ),
    max_leaves=8,
)
PARAMS = SCHEMA | JSON


def _tool(fmt: str, name: Any, description: Any, params: Any, extra: Any) -> Any:
    if fmt == "mcp":
        tool = {"name": name, "description": description, "inputSchema": params}
        if extra is not None:
            tool["outputSchema"] = extra
        return tool
    if fmt == "openai":
        return {"type": "function", "function": {"name": name, "parameters": params}}
    if fmt == "bfcl":
        body = params if isinstance(params, dict) else {"properties": params}
        return {"name": name, "description": description, "parameters": {**body, "type": "dict"}}
    if fmt == "generator":
        items = params if isinstance(params, list) else [params]
        return {"name": name, "parameters": items, "returns": extra}
    return params  # a bare value where a tool belongs


GENERATOR_PARAM = st.fixed_dictionaries(
    {"name": NAME | JSON},
    optional={"type": TYPE | JSON, "required": st.booleans() | JSON, "description": TEXT},
)
TOOL = st.builds(
    _tool,
    st.sampled_from(["mcp", "openai", "bfcl", "generator", "garbage"]),
    NAME | JSON,
    TEXT | JSON,
    PARAMS | st.lists(GENERATOR_PARAM, max_size=3),
    st.none() | SCHEMA | JSON,
)


def _container(shape: str, tools: list[Any], junk: Any) -> Any:
    return {
        "tools": {"tools": tools},
        "functions": {"functions": tools},
        "list": tools,
        "single": tools[0] if tools else junk,
        "bfcl": [{"id": "q", "function": tools}],
        "tools-junk": {"tools": junk},
        "junk": junk,
    }[shape]


DOCUMENT = st.builds(
    _container,
    st.sampled_from(["tools", "functions", "list", "single", "bfcl", "tools-junk", "junk"]),
    st.lists(TOOL, max_size=4),
    JSON,
)


# Raw text spliced in where a placeholder string was serialized: values that a
# JSON or TOML writer cannot produce but a hostile file can hold.
RAW = {
    "@@BIGINT@@": "9" * 5000,
    "@@DEEP@@": "[" * 3000 + "]" * 3000,
    "@@DEEPOBJ@@": '{"a":' * 500 + "1" + "}" * 500,
    "@@NAN@@": "NaN",
}
SPECIAL = st.sampled_from(sorted(RAW)) | HOSTILE | JSON
GOOD_SCHEMA = st.recursive(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["string", "integer", "number", "boolean"])},
        optional={"description": st.text(max_size=10)},
    ),
    lambda inner: (
        st.fixed_dictionaries(
            {
                "type": st.just("object"),
                "properties": st.dictionaries(
                    st.text("abc", min_size=1, max_size=3), inner, max_size=3
                ),
            },
            optional={"required": st.just([])},
        )
        | st.fixed_dictionaries({"type": st.just("array"), "items": inner})
    ),
    max_leaves=5,
)


@st.composite
def good_document(draw: st.DrawFn) -> Any:
    """A valid tools file in one of the four formats."""
    fmt = draw(st.sampled_from(["mcp", "openai", "bfcl", "generator"]))
    names = draw(
        st.lists(st.text("abcdefgh_", min_size=1, max_size=8), min_size=1, max_size=3, unique=True)
    )
    tools = []
    for name in names:
        props = draw(
            st.dictionaries(st.text("xyz", min_size=1, max_size=3), GOOD_SCHEMA, max_size=3)
        )
        params = {"type": "object", "properties": props, "required": sorted(props)[:1]}
        if fmt == "generator":
            plist = [{"name": k, "type": "string", "required": True} for k in props]
            tools.append({"name": name, "description": "Does a thing.", "parameters": plist})
        else:
            tools.append(_tool(fmt, name, "Does a thing.", params, None))
    return _container(draw(st.sampled_from(["tools", "list", "functions"])), tools, None)


@st.composite
def perturbed(draw: st.DrawFn, doc: Any) -> Any:
    """``doc`` with one to three nodes replaced by a special value (or deleted)."""
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        node, path = doc, []
        while isinstance(node, dict | list) and node and draw(st.integers(0, 3)):
            key = draw(
                st.sampled_from(sorted(node) if isinstance(node, dict) else range(len(node)))
            )
            path.append(key)
            node = node[key]
        value = draw(SPECIAL)
        if not path:
            doc = value
            continue
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if isinstance(parent, dict) and draw(st.integers(0, 4)) == 0:
            del parent[path[-1]]
        else:
            parent[path[-1]] = value
    return doc


def _dump(doc: Any, ascii_only: bool) -> bytes:
    try:
        text = json.dumps(doc, ensure_ascii=ascii_only, allow_nan=False)
    except ValueError:
        text = json.dumps(str(doc))
    for token, raw in RAW.items():
        text = text.replace(f'"{token}"', raw)
    return text.encode("utf-8", "surrogatepass")


@st.composite
def tools_file(draw: st.DrawFn) -> bytes:
    """The bytes of a (mostly) malformed tools file."""
    how = draw(
        st.sampled_from(
            [
                "perturb",
                "perturb",
                "perturb",
                "random",
                "jsonl",
                "bom",
                "cut",
                "flip",
                "deep",
                "bytes",
            ]
        )
    )
    if how == "bytes":
        return draw(st.binary(max_size=200))
    doc = draw(good_document())
    doc = draw(perturbed(doc)) if how != "random" else draw(DOCUMENT)
    if how == "jsonl" and isinstance(doc, list):
        return b"\n".join(_dump(d, True) for d in doc)
    if how == "deep":
        depth = draw(st.integers(min_value=60, max_value=3000))
        return b"[" * depth + _dump(doc, True) + b"]" * depth
    data = _dump(doc, draw(st.booleans()))
    if how == "bom":
        return b"\xef\xbb\xbf" + data
    if how == "cut" and data:
        return data[: draw(st.integers(min_value=0, max_value=len(data) - 1))]
    if how == "flip" and data:
        at = draw(st.integers(min_value=0, max_value=len(data) - 1))
        return data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
    return data


# -- configs -------------------------------------------------------------------------

TOML_ODD = (
    st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats()
    | TEXT
    | st.lists(st.integers(min_value=-3, max_value=3) | TEXT, max_size=3)
)
SMALL = st.integers(min_value=-2, max_value=12)
PATH = st.sampled_from(
    [
        *("batches", "cache", "out", "", ".", "..", "../x", "/abs", "a/b/c", "tools.json"),
        *("forge.toml/cache", "x" * 300, "out/../out", "\x00", "~"),
    ]
)
FLOAT = st.floats() | SMALL
TOP = {
    "tools": st.sampled_from(["tools.json", "missing.json", "", ".", "tools.json/x"]) | TEXT,
    "model": st.sampled_from(["gpt-4o-mini", "SmolLM2-135M-Instruct", "", "o3"]) | TEXT,
    "seeds": SMALL | TOML_ODD,
    "paraphrases_per_seed": SMALL | TOML_ODD,
    "synthetic_cap": FLOAT | TOML_ODD,
    "random_seed": SMALL | TOML_ODD,
    "distractors": SMALL | TOML_ODD,
    "batch_discount": FLOAT | TOML_ODD,
    "real": st.lists(st.sampled_from(["real.jsonl", "missing.jsonl", "tools.json", ""])),
    "seedz": TOML_ODD,
}
TABLES = {
    "engine": {
        "kind": st.sampled_from(["local", "openai", "ollama", ""]) | TOML_ODD,
        "base_url": st.sampled_from(["http://127.0.0.1:1/v1", "ftp://x", ""]) | TOML_ODD,
        "poll_interval": FLOAT | TOML_ODD,
        "max_attempts": SMALL | TOML_ODD,
        "poll_intervall": TOML_ODD,
    },
    "paths": {"batches": PATH, "cache": PATH, "out": PATH, "server": PATH, "tmp": PATH},
    "scenarios": {
        name: FLOAT | TOML_ODD
        for name in ("standard", "no_tool", "parallel", "error", "ambiguous", "edge", "multi")
    },
    "limits": {"max_lines": SMALL | TOML_ODD, "max_bytes": TOML_ODD},
    "generation": {"temperature": FLOAT | TOML_ODD, "max_tokens": SMALL | TOML_ODD},
    "checks": {"grounding": TOML_ODD, "min_text_chars": SMALL | TOML_ODD},
    "dedup": {"threshold": FLOAT | TOML_ODD, "shingles": TEXT, "num_perm": TOML_ODD},
    "prices": {"gpt-4o-mini": TOML_ODD, "o3": TOML_ODD},
}


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return ("-inf" if value < 0 else "inf") if math.isinf(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON string escapes are TOML basic-string escapes
    return "[" + ", ".join(toml_value(v) for v in value) + "]"


GOOD_CONFIG: dict[str, Any] = {
    "tools": "tools.json",
    "seeds": 3,
    "paraphrases_per_seed": 1,
    "random_seed": 7,
    "engine": dict(ENGINE),
    "paths": {"batches": "batches", "cache": "cache", "out": "out"},
    "scenarios": {"standard": 1.0, "no_tool": 0.5},
    "generation": {"temperature": 0.7, "max_tokens": 256},
    "dedup": {"threshold": 0.8, "shingles": "word2"},
    "real": ["real.jsonl"],
}


def toml_text(values: dict[str, Any]) -> bytes:
    lines = [f"{k} = {toml_value(v)}" for k, v in values.items() if not isinstance(v, dict)]
    for table, inner in values.items():
        if isinstance(inner, dict):
            lines.append(f"[{table}]")
            lines += [f"{k} = {toml_value(v)}" for k, v in inner.items()]
    text = "\n".join(lines) + "\n"
    for token, raw in RAW.items():
        text = text.replace(f'"{token}"', raw)
    return text.encode("utf-8", "surrogatepass")


@st.composite
def config_file(draw: st.DrawFn) -> bytes:
    """The bytes of a (mostly) malformed forge.toml beside a good tools.json."""
    how = draw(st.sampled_from(["keys", "keys", "keys", "random", "mutate", "deep", "bytes"]))
    if how == "bytes":
        return draw(st.binary(max_size=200))
    values = json.loads(json.dumps(GOOD_CONFIG))
    if how == "random":
        values.update(draw(st.fixed_dictionaries({}, optional=TOP)))
        for table, keys in TABLES.items():
            values.setdefault(table, {}).update(draw(st.fixed_dictionaries({}, optional=keys)))
    elif how == "keys":  # a good config with one to three values made odd
        for _ in range(draw(st.integers(min_value=1, max_value=3))):
            table = draw(st.sampled_from(["", *TABLES]))
            keys = TOP if not table else TABLES[table]
            key = draw(st.sampled_from(sorted(keys)))
            odd = draw(keys[key] | st.sampled_from(["@@BIGINT@@", "@@DEEP@@"]))
            (values if not table else values.setdefault(table, {}))[key] = odd
    data = toml_text(values)
    if how == "deep":
        depth = draw(st.integers(min_value=10, max_value=3000))
        return data + b"x = " + b"[" * depth + b"]" * depth + b"\n"
    if how == "mutate" and data:
        for _ in range(draw(st.integers(min_value=1, max_value=3))):
            at = draw(st.integers(min_value=0, max_value=max(len(data) - 1, 0)))
            op = draw(st.sampled_from(["cut", "insert", "replace"]))
            char = draw(st.sampled_from(list(b'[]{}="#\n\\.,0 a\x00\xff')))
            if op == "cut":
                data = data[:at]
            elif op == "insert":
                data = data[:at] + bytes([char]) + data[at:]
            else:
                data = data[:at] + bytes([char]) + data[at + 1 :]
    return data


# -- the checks ------------------------------------------------------------------------


def snapshot(root: Path) -> dict[str, tuple[bytes | None, int]]:
    snap: dict[str, tuple[bytes | None, int]] = {".": (None, root.stat().st_mtime_ns)}
    for p in sorted(root.rglob("*")):
        regular = p.is_file() and not p.is_symlink()
        snap[p.relative_to(root).as_posix()] = (
            p.read_bytes() if regular else None,
            p.lstat().st_mtime_ns,
        )
    return snap


@contextmanager
def project(tools: bytes | None = None, config: bytes | None = None) -> Iterator[Path]:
    """A throwaway project folder (also the working folder) with the given files."""
    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp:
        root = Path(tmp)
        if tools is None:
            shutil.copy(MEMORY, root / "tools.json")
        else:
            (root / "tools.json").write_bytes(tools)
        if config is None:
            config = toml_text(GOOD_CONFIG)
        (root / "forge.toml").write_bytes(config)
        (root / "real.jsonl").write_text('{"messages": [{"role": "user", "content": "hi"}]}\n')
        old = Path.cwd()
        os.chdir(root)
        try:
            yield root
        finally:
            os.chdir(old)


def check(root: Path, args: list[str], outcomes: dict[int, int], writes: bool = True) -> None:
    """Run one command in-process: exit 0, or exit 2 with one line and nothing changed.

    A command that never ``writes`` (tools check) must leave the project as it was
    on exit 0 too.
    """
    before = snapshot(root)
    result = CliRunner().invoke(cli, args, env=ENV)
    text = result.output + result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{args}: {type(result.exception).__name__}: {result.exception}"
    )
    assert "Traceback" not in text, text
    assert result.exit_code in (0, 2), f"{args}: exit {result.exit_code}: {text[-500:]}"
    outcomes[result.exit_code] += 1
    if result.exit_code == 2:
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr[-500:]
        assert result.stdout == ""
    if result.exit_code == 2 or not writes:
        after = snapshot(root)
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        assert not changed, f"{args} exit {result.exit_code} but changed {changed}"


def test_fuzz_tools_files() -> None:
    outcomes = {0: 0, 2: 0}

    @settings(FUZZ, max_examples=TOOLS_EXAMPLES)
    @given(tools_file())
    def one(data: bytes) -> None:
        with project(tools=data) as root:
            check(root, ["tools", "check", "tools.json"], outcomes, writes=False)
            check(root, ["-c", "forge.toml", "prepare"], outcomes)

    one()
    assert sum(outcomes.values()) == 2 * TOOLS_EXAMPLES
    assert outcomes[2] >= TOOLS_EXAMPLES, outcomes  # mostly malformed, as intended


def test_fuzz_configs() -> None:
    outcomes = {0: 0, 2: 0}

    @settings(FUZZ, max_examples=CONFIG_EXAMPLES)
    @given(config_file())
    def one(data: bytes) -> None:
        with project(config=data) as root:
            check(root, ["-c", "forge.toml", "prepare"], outcomes)

    one()
    assert sum(outcomes.values()) == CONFIG_EXAMPLES
    assert outcomes[2] >= CONFIG_EXAMPLES // 2, outcomes


def test_fuzz_through_the_installed_command() -> None:
    """A few of the same inputs through real processes (the script, its exit status)."""
    exe = Path(sys.executable).parent / "forge-batch"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORGE_BATCH_")}
    seen = []

    @settings(FUZZ, max_examples=PROCESS_EXAMPLES)
    @given(tools_file(), config_file())
    def one(tools: bytes, config: bytes) -> None:
        with project(tools=tools, config=config) as root:
            before = snapshot(root)
            for args in (["tools", "check", "tools.json"], ["-c", "forge.toml", "prepare"]):
                proc = subprocess.run(
                    [str(exe), *args], cwd=root, env=env, capture_output=True, timeout=120
                )
                err = proc.stderr.decode("utf-8", "replace")
                assert "Traceback" not in err, err
                assert proc.returncode in (0, 2), err
                if proc.returncode == 2:
                    assert len(err.splitlines()) == 1 and err.startswith("Error: "), err
                    assert snapshot(root) == before
                seen.append(proc.returncode)

    one()
    assert len(seen) == 2 * PROCESS_EXAMPLES
