"""Fault 7: SIGKILL at random points of submit, collect and run, then run to the end.

Each round starts a real ``forge-batch`` process against a real ``forge-batch
serve`` (``line_delay`` keeps batches running long enough to be caught in
flight), waits until the process has started changing the project (any state
file moved: ledger, manifest, cache, failures, dataset), then sleeps a delay
drawn from a seeded RNG and kills it with SIGKILL. Rounds where the process
finished first do not count. After at least 20 kills mid-work, one clean
``run`` must finish the job: the books balance, no request was paid twice,
every paid response is cached, and the dataset is the fault-free one.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

from faultkit import Servers, finish, make_project, reference_fixture, servers_fixture, spawn  # noqa: F401 (fixtures)

KILLS = 20


def _choices(root: Path) -> list[tuple[str, ...]]:
    """Commands that have work to do now (a kill of an idle command teaches nothing)."""
    batches = root / "batches"
    try:
        manifest = json.loads((batches / "manifest.json").read_text())["shards"]
        ledger = json.loads((batches / "ledger.json").read_text())["shards"]
    except (FileNotFoundError, ValueError):
        manifest, ledger = [], {}
    states = {(r["file"], r["sha256"]): r["state"] for r in ledger.values()}
    out: list[tuple[str, ...]] = [("run",), ("prepare",)]
    if any(
        states.get((s["file"], s["sha256"]), "uploading") != "submitted"
        and states.get((s["file"], s["sha256"])) != "collected"
        for s in manifest
    ):
        out += [("submit",)] * 3
    if any(state == "submitted" for state in states.values()):
        out += [("collect",)] * 3 + [("submit", "--wait")]
    return out


def _state(root: Path) -> tuple:
    """A fingerprint of every file forge-batch keeps its state in."""
    marks = []
    for rel in (
        "batches/ledger.json",
        "batches/manifest.json",
        "batches/failures",
        "cache/cache.db",
        "cache/cache.db-wal",
        "out/dataset.jsonl",
        "out/rejects.jsonl",
    ):
        try:
            st = os.stat(root / rel)
            marks.append((st.st_ino, st.st_mtime_ns, st.st_size))
        except FileNotFoundError:
            marks.append(None)
    return tuple(marks)


def _kill_mid_work(proc: subprocess.Popen[bytes], root: Path, extra: float) -> bool:
    """Kill ``proc`` ``extra`` seconds after it first changes the project state.

    False when it finished before that (nothing was killed).
    """
    before = _state(root)
    deadline = time.monotonic() + 120
    while proc.poll() is None and _state(root) == before:
        if time.monotonic() > deadline:
            break
        time.sleep(0.005)
    end = time.monotonic() + extra
    while proc.poll() is None and time.monotonic() < end:
        time.sleep(0.005)
    if proc.poll() is not None:
        proc.communicate()
        return False
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    return True


def test_sigkill_at_random_points_then_run_to_the_end(
    servers: Servers,
    tmp_path: Path,
    reference: Path,
) -> None:
    srv = servers.start("line_delay=0.02")
    cfg = make_project(tmp_path / "p", srv, limits={"max_lines": 2})
    rng = random.Random(7_2024)
    killed: Counter[str] = Counter()
    finished: Counter[str] = Counter()
    rounds = 0
    while sum(killed.values()) < KILLS:
        rounds += 1
        assert rounds < 6 * KILLS, (killed, finished)
        cmd = rng.choice(_choices(cfg.parent))
        extra = rng.uniform(0.0, 0.8)
        proc = spawn(cfg, *cmd)
        if _kill_mid_work(proc, cfg.parent, extra):
            killed[" ".join(cmd)] += 1
        else:
            finished[" ".join(cmd)] += 1
    assert killed["submit"] and killed["collect"] and killed["run"], killed
    books = finish(cfg, srv, reference, rerun=True)
    assert not books.failures  # a kill never turns into a failed request
    print(f"killed {dict(killed)}; finished first {dict(finished)}")
