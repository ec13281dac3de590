"""Fault-test kit: the real CLI and a real `forge-batch serve` process, both as subprocesses.

Every fault test builds a project whose forge.toml says ``[engine] kind =
"openai"`` with ``base_url`` pointing at a ``forge-batch serve`` process started
here (FakeModel executor, optional ``--faults``), and drives it with
``.venv/bin/forge-batch`` exactly as a user would. Servers are always killed at
teardown (``servers`` fixture in test files).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from accounting import Books, account, expected_dataset, status_json, without_batch_ids

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
BIN = Path(sys.executable).parent / "forge-batch"
EXECUTOR = f"{TESTS / 'doubles.py'}:FakeModel"
TOOLS = TESTS / "data" / "mcp-memory.tools.json"
# A recognizable fake key: the secrets tests grep every written byte for it.
FAKE_KEY = "sk-forgebatch-LEAKCHECK-7f3a9c1e5b2d4f6a8c0e"

# One job for every fault test, so a single fault-free reference run serves all.
JOB: dict[str, Any] = {"seeds": 24, "paraphrases_per_seed": 2, "random_seed": 7}


def free_port() -> int:
    """A port nobody listens on right now (bind port 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def env(key: str = FAKE_KEY, **extra: str) -> dict[str, str]:
    out = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OPENAI_BASE_URL", "FORGE_BATCH_CONFIG", "FORGE_BATCH_DEBUG")
    }
    out.update(OPENAI_API_KEY=key, FORGE_BATCH_PROGRESS="0", PYTHONUNBUFFERED="1")
    out.update(extra)
    return out


@dataclass
class Server:
    """A `forge-batch serve` subprocess on a fixed port and data folder."""

    data: Path
    port: int
    log: Path
    faults: str = ""
    token: str | None = None
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    extra: list[str] = field(default_factory=list)  # more `serve` options (e.g. --relay URL)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, faults: str | None = None) -> Server:
        """Start (again) on the same port and data folder; wait until it accepts calls."""
        assert self.proc is None or self.proc.poll() is not None, "already running"
        if faults is not None:
            self.faults = faults
        runner = self.extra if "--relay" in self.extra else ["--executor", EXECUTOR, *self.extra]
        cmd = [str(BIN), "serve", *runner, "--port", str(self.port)]
        cmd += ["--data", str(self.data)]
        if self.faults:
            cmd += ["--faults", self.faults]
        if self.token:
            cmd += ["--token", self.token]
        self.starts += 1
        with open(self.log, "ab") as log:
            log.write(f"--- start {self.starts}: faults={self.faults!r}\n".encode())
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=log, env=env())
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited {self.proc.returncode}: {self.log.read_text()}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                return self
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"server did not start: {self.log.read_text()}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def restart(self, faults: str = "", sig: int = signal.SIGKILL) -> Server:
        self.kill(sig)
        return self.start(faults)


@dataclass
class Servers:
    """Factory for servers of one test; all are killed at teardown."""

    root: Path
    started: list[Server] = field(default_factory=list)

    def start(self, faults: str = "", *, name: str = "server", token: str | None = None) -> Server:
        srv = Server(self.root / name, free_port(), self.root / f"{name}.log", faults, token)
        self.started.append(srv)
        return srv.start()

    def close(self) -> None:
        for srv in self.started:
            srv.kill()


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def make_project(
    root: Path,
    server: Server,
    *,
    engine: dict[str, Any] | None = None,
    limits: dict[str, Any] | None = None,
    **top: Any,
) -> Path:
    """A project folder with tools.json and a forge.toml pointed at ``server``."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(TOOLS, root / "tools.json")
    values = {"tools": "tools.json", **JOB, **top}
    eng = {"kind": "openai", "base_url": server.base_url, "poll_interval": 0.0}
    eng.update(engine or {})
    lines = [f"{k} = {toml_value(v)}" for k, v in values.items()]
    lines += ["", "[engine]", *(f"{k} = {toml_value(v)}" for k, v in eng.items())]
    lim = {"max_lines": 6, **(limits or {})}
    lines += ["", "[limits]", *(f"{k} = {toml_value(v)}" for k, v in lim.items())]
    cfg = root / "forge.toml"
    cfg.write_text("\n".join(lines) + "\n")
    return cfg


def point_at(cfg: Path, server: Server) -> None:
    """Rewrite the project's base_url (a server restarted elsewhere)."""
    text = cfg.read_text()
    import re

    cfg.write_text(re.sub(r'base_url = "[^"]*"', f'base_url = "{server.base_url}"', text))


@dataclass
class Done:
    code: int
    out: str
    err: str
    seconds: float

    def __str__(self) -> str:
        return (
            f"exit {self.code} after {self.seconds:.1f}s\nstdout:\n{self.out}\nstderr:\n{self.err}"
        )


def cli(cfg: Path, *args: str, key: str = FAKE_KEY, timeout: float = 180, **extra: str) -> Done:
    """Run ``forge-batch -c cfg args...`` as a user would; return its exit code and output."""
    start = time.monotonic()
    proc = subprocess.run(
        [str(BIN), "-c", str(cfg), *args],
        capture_output=True,
        env=env(key, **extra),
        timeout=timeout,
        cwd=cfg.parent,
        check=False,
    )
    return Done(
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
        time.monotonic() - start,
    )


def ok(cfg: Path, *args: str, **kw: Any) -> Done:
    done = cli(cfg, *args, **kw)
    assert done.code == 0, str(done)
    return done


def spawn(cfg: Path, *args: str, key: str = FAKE_KEY) -> subprocess.Popen[bytes]:
    """Start ``forge-batch`` without waiting (to kill it, or to cancel under it)."""
    return subprocess.Popen(
        [str(BIN), "-c", str(cfg), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env(key),
        cwd=cfg.parent,
    )


# -- fixtures and the closing step shared by the fault test modules -------------------------

SENT_RE = "sent {} request(s)"


@pytest.fixture(name="servers")
def servers_fixture(tmp_path: Path) -> Iterator[Servers]:
    """Start `forge-batch serve` processes; every one is killed at teardown."""
    kit = Servers(tmp_path)
    yield kit
    kit.close()


@pytest.fixture(name="reference", scope="session")
def reference_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """forge.toml of the job run once against a fault-free server (shared by modules)."""
    root = tmp_path_factory.getbasetemp() / "reference"
    cfg = root / "p" / "forge.toml"
    if (root / "done").exists():
        return cfg
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    kit = Servers(root)
    try:
        srv = kit.start()
        make_project(root / "p", srv)
        ok(cfg, "run")
        books = account(cfg, server_data=srv.data)
        assert not books.all("pending") and not books.failures
    finally:
        kit.close()
    (root / "done").write_text("ok")
    return cfg


def audit(cfg: Path, srv: Server, **kw: object) -> tuple[dict, Books]:
    """``status --json`` and the books from the files, which must agree with it."""
    status = status_json(ok(cfg, "status", "--json").out)
    return status, account(cfg, status=status, server_data=srv.data, **kw)  # type: ignore[arg-type]


def finish(
    cfg: Path,
    srv: Server,
    reference: Path,
    *,
    restart: bool = True,
    damaged: set[str] = frozenset(),  # type: ignore[assignment]
    repaid: set[str] = frozenset(),  # type: ignore[assignment]
    rerun: bool = False,
) -> Books:
    """Faults off, run to the end as a user would, then the books and the dataset.

    The dataset must equal the fault-free run's with meta.batch_id removed (it
    names the batch that answered, so it differs for resent requests); with
    faults that are final by design (400s given up, ``damaged`` answers kept)
    it must equal what the fault-free cache gives once those are applied.
    With ``rerun``, one more ``run`` must send nothing.
    """
    if restart:
        srv.restart("")
    ok(cfg, "run")
    _, books = audit(cfg, srv, repaid=repaid)
    assert not books.unplanned  # every request ever sent is part of the finished job
    got = without_batch_ids(cfg.parent / "out" / "dataset.jsonl")
    want = expected_dataset(reference, cfg, books, cfg.parent.parent / "expected", damaged=damaged)
    assert got == want, "dataset differs from the fault-free run (beyond meta.batch_id)"
    if not books.all("given_up") and not damaged:
        assert got == without_batch_ids(reference.parent / "out" / "dataset.jsonl")
    if rerun:  # nothing left: a rerun sends nothing
        again = ok(cfg, "run")
        assert SENT_RE.format(0) in again.out, again.out
    return books
