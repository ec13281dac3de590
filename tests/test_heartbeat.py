"""Long work visible without a terminal: status lines per phase, at most every 30 s."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from forge_batch.progress import Heartbeat

BIN = Path(sys.executable).parent / "forge-batch"
LINE = re.compile(r"^\[\d\d:\d\d:\d\d UTC\] ")


def test_ticks_at_most_every_30_seconds_and_phases_always() -> None:
    now = [0.0]
    out = io.StringIO()
    beat = Heartbeat(active=True, clock=lambda: now[0], stream=out)
    beat.phase("submit")
    for _ in range(120):  # two minutes of polls every second
        now[0] += 1
        beat.tick(lambda: f"waiting {now[0]:.0f}")
    beat.phase("collected")
    lines = out.getvalue().splitlines()
    assert all(LINE.match(x) for x in lines)
    assert [x.split("] ", 1)[1] for x in lines] == [
        "submit", "waiting 30", "waiting 60", "waiting 90", "waiting 120", "collected",
    ]  # fmt: skip
    quiet = io.StringIO()
    Heartbeat(active=False, stream=quiet).phase("x")
    assert quiet.getvalue() == ""


def test_run_without_a_terminal_prints_phases(make_project: Callable[..., Path]) -> None:
    cfg = make_project(seeds=8, paraphrases_per_seed=1)
    env = {k: v for k, v in os.environ.items() if k != "FORGE_BATCH_PROGRESS"}
    with open(cfg.parent / "stderr.log", "w") as err:  # a file, as under nohup or CI
        done = subprocess.run(
            [str(BIN), "-c", str(cfg), "run"], stdout=subprocess.PIPE, stderr=err, env=env,
            timeout=300, check=False,
        )  # fmt: skip
    assert done.returncode == 0
    lines = (cfg.parent / "stderr.log").read_text().splitlines()
    texts = [x.split("] ", 1)[1] for x in lines if LINE.match(x)]
    assert any(t.startswith("round 1: prepare wrote 8 request(s)") for t in texts), lines
    assert any(t.startswith("submit: 1 batch(es) created") for t in texts), lines
    assert any(t.startswith("round 1: collected 1 batch(es)") for t in texts), lines
    assert any(t.startswith("round 2: prepare wrote") for t in texts), lines
    assert texts[-1].startswith("done: ") and "building the dataset" in texts
    assert b"[" not in done.stdout.split(b"\n")[0][:1]  # the lines go to stderr only
