"""Fault 10: the disk fills while forge-batch writes shards or the dataset.

Two ways to fill it:

* a real, tiny tmpfs mounted over the project's ``batches/`` or ``out/``
  folder, with the real CLI in a subprocess (needs root or CAP_SYS_ADMIN to
  mount; skipped, with that reason, where mounting is not allowed);
* everywhere: an ``open`` that raises OSError(ENOSPC) once a few bytes are
  written, monkeypatched into forge_batch.fsio / forge_batch.build, with the
  CLI run in-process.

Either way the user sees one line and exit 1 (DiskFullError), no file is left
half-written as if complete (everything goes through fsio.atomic_writer: temp
file + rename), nothing that was paid for is lost, and once space is back the
same command finishes the job with the fault-free dataset.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from accounting import TEMP_MARKS, status_json
from click.testing import CliRunner
from faultkit import (  # noqa: F401 (fixtures)
    SENT_RE,
    Servers,
    cli,
    finish,
    make_project,
    ok,
    reference_fixture,
    servers_fixture,
)

from forge_batch import fsio, spool
from forge_batch.cli import cli as cli_group
from forge_batch.shards import file_sha256

DISK_FULL = "no space left on device"


# -- a real full disk: a tiny tmpfs ----------------------------------------------------------


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(
            "mounting a tmpfs needs root or CAP_SYS_ADMIN "
            f"({mounted.stderr.decode().strip()}); test_disk_full_injected covers the same code"
        )
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def grow(path: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(path)], check=True)


PROGRESS_LINE = re.compile(r"^\[\d{2}:\d{2}:\d{2} UTC\] ")


def _one_line_disk_full(done: Any) -> None:
    assert done.code == 1, str(done)
    # progress lines ("[hh:mm:ss UTC] ...") may come first; the error itself is one last line
    lines = [ln for ln in done.err.strip().splitlines() if not PROGRESS_LINE.match(ln)]
    assert len(lines) == 1 and DISK_FULL in lines[0], str(done)
    assert done.err.strip().splitlines()[-1] == lines[0], str(done)
    assert "Traceback" not in done.err


def _server_answers(srv: Any) -> set[str]:
    """custom_ids the server answered with a 200 (what was paid for)."""
    out = set()
    for path in (srv.data / "batches").glob("*.json"):
        fid = json.loads(path.read_text())["batch"].get("output_file_id")
        if fid and (srv.data / "files" / f"{fid}.data").exists():
            for line in (srv.data / "files" / f"{fid}.data").read_text().splitlines():
                record = json.loads(line)
                if (record.get("response") or {}).get("status_code") == 200:
                    out.add(record["custom_id"])
    return out


def _temps(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob("*") if any(m in p.name for m in TEMP_MARKS)]


def test_disk_full_while_writing_shards_tmpfs(
    servers: Servers, tmp_path: Path, reference: Path
) -> None:
    srv = servers.start()
    cfg = make_project(tmp_path / "p", srv)
    batches = cfg.parent / "batches"
    with tmpfs(batches, "16k"):
        done = cli(cfg, "run")
        _one_line_disk_full(done)
        assert "batches" in done.err  # names the file it could not write
        assert not _temps(batches)
        manifest = batches / "manifest.json"
        if manifest.exists():  # whatever the manifest lists is complete
            for shard in json.loads(manifest.read_text())["shards"]:
                assert file_sha256(batches / shard["file"]) == shard["sha256"]
        grow(batches, "8m")
        finish(cfg, srv, reference, restart=False)


def test_disk_full_while_writing_the_dataset_tmpfs(
    servers: Servers, tmp_path: Path, reference: Path
) -> None:
    srv = servers.start()
    cfg = make_project(tmp_path / "p", srv)
    out = cfg.parent / "out"
    with tmpfs(out, "24k"):
        done = cli(cfg, "run")
        _one_line_disk_full(done)
        assert not (out / "dataset.jsonl").exists()  # never half of one
        assert not _temps(out)
        # every response was paid for and is kept; what is pending was never sent (the
        # judge's samples fill out/.accepted.jsonl before the last round), and is sent once
        status = status_json(ok(cfg, "status", "--json").out)
        sent_before = _server_answers(srv)
        assert status["accounting"]["answered"] == len(sent_before)
        grow(out, "8m")
        again = ok(cfg, "run")
        if not status["accounting"]["pending"]:
            assert SENT_RE.format(0) in again.out, again.out
        books = finish(cfg, srv, reference, restart=False)
        assert all(len(batches) == 1 for batches in books.server_ok.values())  # none paid twice


def _fill(folder: Path) -> Path:
    """Take every free byte of the filesystem under ``folder``."""
    filler = folder / "filler.bin"
    block = b"\0" * 65536
    with contextlib.suppress(OSError), open(filler, "wb") as fh:
        while True:
            fh.write(block)
            fh.flush()
    return filler


def test_disk_full_while_caching_responses_tmpfs(
    servers: Servers, tmp_path: Path, reference: Path
) -> None:
    srv = servers.start()
    cfg = make_project(tmp_path / "p", srv)
    cache = cfg.parent / "cache"
    with tmpfs(cache, "2m"):
        ok(cfg, "prepare")
        ok(cfg, "submit", "--wait")
        filler = _fill(cache)
        done = cli(cfg, "collect")  # the responses are downloaded but cannot be cached
        _one_line_disk_full(done)
        assert "response cache" in done.err
        ledger = json.loads((cfg.parent / "batches" / "ledger.json").read_text())["shards"]
        assert {r["state"] for r in ledger.values()} == {"submitted"}  # so nothing is lost
        filler.unlink()
        ok(cfg, "collect")  # ingested now, from the same batches
        books = finish(cfg, srv, reference, restart=False)
        assert all(books.sent(k) == 1 for k in books.planned["seed"])


# -- everywhere: ENOSPC injected in-process -----------------------------------------------------


class _FillingFile:
    """A file object whose writes fail with ENOSPC once ``room`` bytes are used."""

    def __init__(self, fh: Any, budget: list[int]) -> None:
        self._fh, self._budget = fh, budget

    def write(self, data: bytes) -> int:
        if len(data) > self._budget[0]:
            self._budget[0] = 0
            raise OSError(errno.ENOSPC, "No space left on device")
        self._budget[0] -= len(data)
        return self._fh.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)

    def __enter__(self) -> _FillingFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._fh.close()


@contextlib.contextmanager
def disk_with_room(monkeypatch: pytest.MonkeyPatch, folder: Path, room: int) -> Iterator[None]:
    """Writes under ``folder`` through fsio / the build's spool fail past ``room`` bytes."""
    budget = [room]

    def filling_open(file: Any, mode: str = "r", *args: Any, **kw: Any) -> Any:
        fh = builtins.open(file, mode, *args, **kw)  # noqa: SIM115 (returned open)
        if isinstance(file, int):  # fsio.open_regular reads through a descriptor
            return fh
        inside = Path(file).resolve().is_relative_to(folder.resolve())
        return _FillingFile(fh, budget) if inside and ("w" in mode or "a" in mode) else fh

    with monkeypatch.context() as m:
        m.setattr(fsio, "open", filling_open, raising=False)
        m.setattr(spool, "open", filling_open, raising=False)  # the build's scratch file
        yield


@dataclass
class Done:
    code: int
    out: str
    err: str
    exception: BaseException | None


def _invoke(cfg: Path, *args: str) -> Done:
    result = CliRunner().invoke(cli_group, ["-c", str(cfg), *args])
    return Done(result.exit_code, result.stdout, result.stderr, result.exception)


@pytest.mark.parametrize("folder", ["batches", "out"])
def test_disk_full_injected(
    servers: Servers,
    tmp_path: Path,
    reference: Path,
    monkeypatch: pytest.MonkeyPatch,
    folder: str,
) -> None:
    srv = servers.start()
    cfg = make_project(tmp_path / "p", srv)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-forgebatch-test-0000")
    target = cfg.parent / folder
    target.mkdir()
    with disk_with_room(monkeypatch, target, 9_000):
        done = _invoke(cfg, "run")
    _one_line_disk_full(done)
    assert not _temps(cfg.parent)
    if folder == "out":
        assert not (target / "dataset.jsonl").exists()
    finish(cfg, srv, reference, restart=False)
