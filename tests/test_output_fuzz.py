"""Fuzz: generated malformed Batch output files through ``collect --import`` (issue 13, Done-when).

Two kinds of files are thrown at a prepared project:

* well-formed result lines whose 200 bodies are damaged at every level (a
  value replaced by an odd type, odd unicode, a huge number, nesting hundreds
  or thousands deep; a key removed). The import exits 0 or, when the line
  itself cannot be read (nesting past 1,024, a number past a double), 2; and
  every cache entry left behind must go through a build (status) without a
  traceback;
* files with at least one line that is not a Batch result (not JSON, not an
  object, no custom_id, bad UTF-8, a lone surrogate...): exit 2, one ``Error:``
  line naming the file and the line, and nothing on disk changed.

At the end status, prepare and collect run on what the fuzzing left in the
cache, in process and as the installed command. In-process runs keep this
under a minute on a busy machine; the engine is ``openai`` pointed at a closed
port, which collect --import never calls (no batch was submitted).
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner, Result
from conftest import write_toml
from doubles import FakeModel
from faultkit import BIN, env
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forge_batch import build, config, report
from forge_batch.cache import ReadOnlyCache
from forge_batch.cli import cli

KEY = "sk-test-not-a-key"
ENV = {"OPENAI_API_KEY": KEY, "FORGE_BATCH_PROGRESS": "0"}
SETTINGS = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
COUNT: dict[str, int] = {"bodies": 0, "broken": 0}


def snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    """(size, mtime, inode) of everything under root: any write or replace changes one."""
    out = {}
    for p in [root, *sorted(root.rglob("*"))]:
        st_ = p.lstat()
        out[p.relative_to(root).as_posix()] = (st_.st_size, st_.st_mtime_ns, st_.st_ino)
    return out


@pytest.fixture(scope="module", autouse=True)
def _no_chart() -> Iterator[None]:
    """The report's chart (matplotlib, ~0.2 s a build) is not under test here."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(report, "chart_png", lambda stats: None)
        yield


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A prepared project (seed shard written) and each seed request's sound answer."""
    from conftest import _find_example

    root = tmp_path_factory.mktemp("fuzz") / "project"
    root.mkdir()
    shutil.copy(_find_example("mcp-memory.tools.json"), root / "tools.json")
    write_toml(
        root / "forge.toml",
        {
            "tools": "tools.json",
            "seeds": 12,
            "paraphrases_per_seed": 1,
            "random_seed": 5,
            "engine": {"kind": "openai", "base_url": "http://127.0.0.1:9/v1"},
        },
    )
    assert invoke(root, "prepare").exit_code == 0
    return root


def invoke(root: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["-c", str(root / "forge.toml"), *args], env=ENV)


def _answers(root: Path) -> dict[str, dict[str, Any]]:
    model = FakeModel()
    out = {}
    for path in sorted((root / "batches").glob("seed-*.jsonl")):
        for line in path.read_bytes().splitlines():
            request = orjson.loads(line)
            out[request["custom_id"]] = model(request["body"])[1]
    return out


# -- values -----------------------------------------------------------------------------------
# Values orjson cannot write (nesting past 255, integers past 64 bits) are placeholders,
# spliced into the text after dumping: the file holds what a hostile server could send.

Splice = dict[str, str]

ODD_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40
) | st.sampled_from(
    ["n/a", "", "\u2028", "\x1b[2J", "\u202e", "\ufeff", "NaN", "-1", "12", "null", "\x00"]
)


def _deep(kind: str, depth: int) -> str:
    if kind == "list":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


@st.composite
def odd_value(draw: st.DrawFn, splice: Splice) -> Any:
    """An odd JSON value: wrong type, odd text, huge or negative number, deep nesting."""
    choice = draw(st.integers(0, 9))
    if choice == 0:
        return draw(st.none() | st.booleans())
    if choice == 1:
        return draw(st.integers(-(2**63), 2**64 - 1))
    if choice == 2:
        return draw(st.floats(allow_nan=False, allow_infinity=False))
    if choice == 3:
        return draw(ODD_TEXT)
    if choice == 4:  # a number no double or 64-bit integer holds, as a bare literal
        tag = f"@@{len(splice)}@@"
        splice[f'"{tag}"'] = draw(st.sampled_from(["9" * 5000, "-" + "7" * 400, "1" * 25]))
        return tag
    if choice == 5:  # nested deeper than orjson writes (and, past 1,024, reads)
        tag = f"@@{len(splice)}@@"
        depth = draw(st.sampled_from([60, 70, 300, 1100, 5000]))
        splice[f'"{tag}"'] = _deep(draw(st.sampled_from(["list", "dict"])), depth)
        return tag
    if choice == 6:  # text that is JSON nested deep, or holds a huge number
        depth = draw(st.sampled_from([40, 64, 65, 400, 5000]))
        return draw(
            st.sampled_from(
                [
                    _deep("list", depth),
                    '{"user": "x", "calls": ' + _deep("dict", depth) + ', "answer": "y"}',
                    '{"user": "x", "n": ' + "9" * 5000 + "}",
                    "[" * depth,
                ]
            )
        )
    if choice == 7:
        return draw(st.lists(st.integers(-5, 5) | ODD_TEXT, max_size=3))
    if choice == 8:
        return draw(st.dictionaries(ODD_TEXT, st.integers(-3, 3) | ODD_TEXT, max_size=3))
    return "x" * draw(st.sampled_from([1, 10_000, 100_000]))


def _paths(value: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [here] if here else []
    if isinstance(value, dict):
        for k, v in value.items():
            out.extend(_paths(v, (*here, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.extend(_paths(v, (*here, i)))
    return out


def _known_paths() -> list[tuple[Any, ...]]:
    """Places a server may shape oddly even when the sound answer lacks them."""
    return [
        ("usage",),
        ("usage", "prompt_tokens"),
        ("usage", "prompt_tokens_details"),
        ("usage", "prompt_tokens_details", "cached_tokens"),
        ("usage", "completion_tokens_details"),
        ("choices",),
        ("choices", 0),
        ("choices", 0, "message"),
        ("choices", 0, "message", "content"),
        ("choices", 0, "message", "tool_calls"),
        ("choices", 0, "message", "refusal"),
        ("choices", 0, "finish_reason"),
        ("model",),
    ]


def _set(body: Any, path: tuple[Any, ...], value: Any, remove: bool) -> Any:
    """The body with ``path`` set to ``value`` (or removed); missing parents are created."""
    if not path:
        return value
    node = body
    for part in path[:-1]:
        if isinstance(node, dict):
            node = node.setdefault(part, {})
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return body
    last = path[-1]
    if isinstance(node, dict):
        if remove:
            node.pop(last, None)
        else:
            node[last] = value
    elif isinstance(node, list) and isinstance(last, int) and last < len(node):
        node[last] = value
    return body


@st.composite
def damaged_file(draw: st.DrawFn, answers: dict[str, dict[str, Any]]) -> bytes:
    """1-4 result lines for this project's requests, each body damaged 1-3 times."""
    keys = sorted(answers)
    lines = []
    for _ in range(draw(st.integers(1, 4))):
        key = draw(st.sampled_from(keys))
        body: Any = json.loads(json.dumps(answers[key]))
        splice: Splice = {}
        for _ in range(draw(st.integers(1, 3))):
            paths = _paths(body) + _known_paths() + [()]
            path = draw(st.sampled_from(paths))
            remove = draw(st.integers(0, 5)) == 0
            body = _set(body, path, draw(odd_value(splice)), remove)
        status: Any = draw(st.sampled_from([200, 200, 200, 200, "200", 200.0, True, 500]))
        record = {
            "id": "batch_req_x",
            "custom_id": key,
            "response": {"status_code": status, "request_id": "r", "body": body},
            "error": None,
        }
        text = json.dumps(record, ensure_ascii=draw(st.booleans()))
        for tag, raw in splice.items():
            text = text.replace(tag, raw)
        lines.append(text.encode("utf-8"))
    return b"\n".join(lines) + b"\n"


BROKEN = [
    b"not json at all",
    b'{"custom_id": "fb1:',
    b"[1, 2, 3]",
    b'"just a string"',
    b"42",
    b"null",
    b'{"response": {"status_code": 200}}',
    b'{"custom_id": 7, "response": null}',
    b'{"custom_id": ["a"], "response": null}',
    b'{"custom_id": null}',
    b'{"custom_id": "k", "body": "\xff\xfe"}',
    b'{"custom_id": "k", "x": "\\ud800"}',
    b'{"custom_id": "k", "n": 1e999}',
    b'{"custom_id": "k", "r": ' + b"[" * 1100 + b"]" * 1100 + b"}",
    b'{"custom_id": "k", "a": 1,}',
    b'{"custom_id": "k"} trailing',
    b"\x00\x01\x02",
    b"{" * 5000,
]


@st.composite
def broken_file(draw: st.DrawFn, answers: dict[str, dict[str, Any]]) -> tuple[bytes, int]:
    """Sound result lines with one line that is not a Batch result; (file, its line number)."""
    keys = sorted(answers)
    good = [
        orjson.dumps(
            {"custom_id": k, "response": {"status_code": 200, "body": answers[k]}, "error": None}
        )
        for k in draw(st.lists(st.sampled_from(keys), max_size=3))
    ]
    bad = draw(
        st.sampled_from(BROKEN)
        | st.binary(min_size=1, max_size=30).filter(lambda b: b.strip() and b"\n" not in b)
        | ODD_TEXT.filter(lambda t: t.strip() and "\n" not in t and "\r" not in t).map(
            lambda t: json.dumps(t).encode()
        )
    )
    at = draw(st.integers(0, len(good)))
    lines = [*good[:at], bad, *good[at:]]
    return b"\n".join(lines) + b"\n", at + 1


def _cache_loads(root: Path) -> None:
    """Every entry the cache holds reads back through the same check (never a crash)."""
    with ReadOnlyCache(root / "cache") as cache:
        con = cache._con
        if con is None:
            return
        for (key,) in con.execute("SELECT key FROM Cache").fetchall():
            assert cache.get(key) is not None, key  # ingest let through only sound bodies


def test_damaged_bodies_never_leave_a_value_that_crashes(project: Path) -> None:
    answers = _answers(project)
    conf = config.load(project / "forge.toml")
    seen = {"exit0": 0, "exit2": 0}

    @SETTINGS
    @given(data=damaged_file(answers))
    def one(data: bytes) -> None:
        COUNT["bodies"] += 1
        path = project.parent / "damaged.jsonl"
        path.write_bytes(data)
        before = snapshot(project)
        result = invoke(project, "collect", "--import", str(path))
        assert "Traceback" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(
            result.exception
        )
        assert result.exit_code in (0, 2), result.output
        if result.exit_code == 2:
            seen["exit2"] += 1
            assert snapshot(project) == before
            assert result.stderr.startswith("Error: ") and "damaged.jsonl" in result.stderr
        else:
            seen["exit0"] += 1
            build.build(conf, write=False)  # what status does: must not crash on the cache
        _cache_loads(project)

    one()
    assert COUNT["bodies"] >= 200, COUNT
    assert seen["exit0"] >= 100 and seen["exit2"] >= 10, seen


def test_broken_lines_are_refused_and_nothing_changes(project: Path) -> None:
    answers = _answers(project)

    @settings(SETTINGS, max_examples=110)
    @given(case=broken_file(answers))
    def one(case: tuple[bytes, int]) -> None:
        COUNT["broken"] += 1
        data, line = case
        path = project.parent / "broken.jsonl"
        path.write_bytes(data)
        before = snapshot(project)
        result = invoke(project, "collect", "--import", str(path))
        assert result.exit_code == 2, result.output
        assert result.stdout == ""
        err = result.stderr.splitlines()
        assert len(err) == 1 and err[0].startswith("Error: ") and "broken.jsonl" in err[0], err
        assert f"line {line}" in err[0], err
        assert snapshot(project) == before

    one()
    assert COUNT["broken"] >= 110, COUNT


def test_every_command_works_on_what_the_fuzzing_cached(project: Path) -> None:
    """After the two above (same module project): status, prepare, collect, both ways."""
    for args in (("status",), ("status", "--json"), ("collect",), ("prepare",)):
        result = invoke(project, *args)
        assert result.exit_code == 0 and "Traceback" not in result.output, (args, result.output)
    rng = random.Random(3)
    answers = _answers(project) or {"fb1:" + "0" * 64: {}}  # all cached: an unknown id
    runs: list[tuple[str, ...]] = []
    for n, usage in enumerate(["n/a", {"prompt_tokens": "12"}]):
        key = rng.choice(sorted(answers))
        body = {**answers[key], "usage": usage}
        path = project.parent / f"sub{n}.jsonl"
        path.write_bytes(
            orjson.dumps({"custom_id": key, "response": {"status_code": 200, "body": body}}) + b"\n"
        )
        runs.append(("collect", "--import", str(path)))
    runs += [("status",), ("prepare",)]
    for args in runs:  # as a user runs them: the installed command
        done = subprocess.run(
            [str(BIN), "-c", str(project / "forge.toml"), *args],
            capture_output=True,
            env=env(KEY),
            timeout=120,
        )
        assert done.returncode == 0, (args, done.stderr.decode())
        assert b"Traceback" not in done.stderr
