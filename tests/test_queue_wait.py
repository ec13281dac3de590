"""Other jobs of the organization hold the enqueued-token quota: `run` backs off, says why
on stderr, stops after [engine] queue_wait with exit 75, and a later run continues.

The other job is a batch created straight through the openai SDK on a real
`forge-batch serve` enforcing fault ``enqueued_limit`` (its limit is that batch's
own size, so every batch of ours is refused while it runs).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import openai
import pytest
from accounting import account, without_batch_ids
from faultkit import (  # noqa: F401 (fixtures)
    FAKE_KEY,
    Servers,
    cli,
    make_project,
    ok,
    reference_fixture,
    servers_fixture,
)

from forge_batch.pacing import Hold

STAMP = re.compile(r"^\[\d\d:\d\d:\d\d UTC\] ")


def test_hold_backs_off_and_expires_at_the_patience() -> None:
    now = [100.0]
    hold = Hold(64.0, clock=lambda: now[0])
    assert not hold.held() and hold.pause() is None
    hold.refused(ours_in_flight=True)  # ours will free room: wait for one to end
    assert hold.held() and hold.pause() is None and hold.waited() == 0
    hold.ended()
    assert not hold.held()
    hold.refused(ours_in_flight=True)
    hold.idle()  # none of ours left to end: try again now, not never
    assert not hold.held() and hold.since is None
    tries = []
    while not hold.expired:
        hold.refused(ours_in_flight=False)
        tries.append(now[0] - 100.0)
        pause = hold.pause()
        assert pause is not None and hold.held() == (pause > 0)
        now[0] += pause
    assert tries == [0, 1, 3, 7, 15, 31, 47, 63, 64]  # doubling from 64/64 up to 64/4
    assert hold.waited() == 64
    zero = Hold(0.0, clock=lambda: now[0])
    zero.refused(ours_in_flight=False)
    assert zero.expired  # queue_wait = 0: stop at the first refusal


@pytest.mark.parametrize("engine", [{}, {"enqueued_token_limit": 10_000_000}])
def test_quota_held_by_others_stops_after_queue_wait_and_a_later_run_continues(
    servers: Servers, tmp_path: Path, reference: Path, engine: dict[str, int]
) -> None:
    body = {"model": "smollm2-135m", "messages": [{"role": "user", "content": "x" * 4000}]}
    line = json.dumps({"custom_id": "other-job", "method": "POST", "url": "/v1/chat/completions",
                       "body": body}).encode() + b"\n"  # fmt: skip
    limit = len(line) // 4  # the other job alone fills the quota
    srv = servers.start(f"enqueued_limit={limit},line_delay=60")
    client = openai.OpenAI(base_url=srv.base_url, api_key=FAKE_KEY, max_retries=0)
    upload = client.files.create(file=("other.jsonl", line), purpose="batch")
    held = client.batches.create(
        input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    cfg = make_project(tmp_path / "p", srv, engine={"queue_wait": 2.0, **engine})
    done = cli(cfg, "run", FORGE_BATCH_PROGRESS="", timeout=60)
    assert done.code == 75, str(done)
    assert client.batches.retrieve(held.id).status == "in_progress"  # it held the quota all along
    error = done.err.strip().splitlines()[-1]
    assert error.startswith("Error: the organization's enqueued-token quota for ") and (
        re.search(
            r"is held by other batches: waited [23] s of 2 s \(\[engine\] queue_wait\)", error
        )
    ), done.err
    assert "nothing is lost" in error and "run the same command again later" in error
    waits = [x for x in done.err.splitlines() if STAMP.match(x) and "held by other" in x]
    assert waits and all("queue_wait" in x for x in waits), done.err
    refused = [
        b
        for p in (srv.data / "batches").glob("*.json")
        if (b := json.loads(p.read_text())["batch"])["status"] == "failed"
    ]
    assert 6 <= len(refused) <= 4 + 10, len(
        refused
    )  # 4 shards refused at first, then one probe at a time, backing off
    assert done.seconds < 30
    ledger = json.loads((cfg.parent / "batches" / "ledger.json").read_text())["shards"]
    assert ledger and {r["state"] for r in ledger.values()} == {"queued"}
    status = json.loads(ok(cfg, "status", "--json").out)
    assert all(s["failed"] == 0 for s in status["stages"].values())

    srv.restart("")  # the other job ends (no more delay), the quota is free
    deadline = time.monotonic() + 30
    while client.batches.retrieve(held.id).status != "completed":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    ok(cfg, "run")
    books = account(cfg)
    assert not books.failures and not books.all("given_up") and not books.all("pending")
    assert without_batch_ids(cfg.parent / "out" / "dataset.jsonl") == without_batch_ids(
        reference.parent / "out" / "dataset.jsonl"
    )
