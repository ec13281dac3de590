"""Enqueued-token pacing against a real `forge-batch serve` enforcing an enqueued limit
(fault enqueued_limit: a batch past it fails validation with token_limit_exceeded)."""

from __future__ import annotations

import json
from pathlib import Path

from faultkit import (  # noqa: F401 (fixtures)
    Servers,
    audit,
    finish,
    make_project,
    ok,
    reference_fixture,
    servers_fixture,
)

from forge_batch import pacing


def seed_tokens(cfg: Path) -> list[int]:
    manifest = json.loads((cfg.parent / "batches" / "manifest.json").read_text())
    return [pacing.tokens(s["bytes"]) for s in manifest["shards"] if s["stage"] == "seed"]


def third_of_the_job(servers: Servers, tmp_path: Path) -> int:
    """An enqueued limit of ~1/3 of the seed stage's tokens (room for one shard)."""
    probe = servers.start(name="probe")
    cfg = make_project(tmp_path / "probe", probe)
    ok(cfg, "prepare")
    shards = seed_tokens(cfg)
    limit = sum(shards) // 3
    assert len(shards) >= 4 and max(shards) <= limit < 2 * min(shards)
    return limit


def test_submit_queues_past_the_limit_and_run_finishes(
    servers: Servers, tmp_path: Path, reference: Path
) -> None:
    limit = third_of_the_job(servers, tmp_path)
    srv = servers.start(f"enqueued_limit={limit}")
    cfg = make_project(tmp_path / "p", srv, engine={"enqueued_token_limit": limit})
    ok(cfg, "prepare")
    out = ok(cfg, "submit").out
    assert "submitted 1 batch(es)" in out
    assert "queued until the enqueued-token quota has room" in out
    status = json.loads(ok(cfg, "status", "--json").out)  # mid-way: the books are not closed
    states = [b["state"] for b in status["batches"]]
    assert states.count("submitted") == 1 and states.count("queued") >= 3, states
    text = ok(cfg, "status").out
    room = "queued until the enqueued-token quota has room"
    assert f"{room} ([engine] enqueued_token_limit, queue_wait)" in text
    books = finish(cfg, srv, reference, restart=False)
    status, _ = audit(cfg, srv)
    assert all(s["failed"] == 0 for s in status["stages"].values())
    assert not books.failures  # nothing failed, so nothing was given up
    server_batches = [
        json.loads(p.read_text())["batch"] for p in (srv.data / "batches").glob("*.json")
    ]
    assert not [b for b in server_batches if b["status"] == "failed"]  # paced: never refused


def test_refused_batches_are_requeued_not_counted_as_attempts(
    servers: Servers, tmp_path: Path, reference: Path
) -> None:
    limit = third_of_the_job(servers, tmp_path)
    srv = servers.start(f"enqueued_limit={limit},line_delay=0.2")  # batches outlive creates
    # no client-side limit: the server refuses; max_attempts = 1 would give up at once.
    # Two lines a shard: a judge line is ~3x a seed line, and a shard past the server's
    # limit on its own could never run (the client-side limit sizes shards; none here)
    cfg = make_project(tmp_path / "p", srv, engine={"max_attempts": 1}, limits={"max_lines": 2})
    ok(cfg, "run")
    server_batches = [
        json.loads(p.read_text())["batch"] for p in (srv.data / "batches").glob("*.json")
    ]
    refused = [b for b in server_batches if b["status"] == "failed"]
    assert refused, "the server never refused a batch: the limit is too high for this test"
    for b in refused:
        assert b["errors"]["data"][0]["code"] == "token_limit_exceeded"
        assert "Enqueued token limit reached for " in b["errors"]["data"][0]["message"]
    status, books = audit(cfg, srv)
    assert all(s["failed"] == 0 for s in status["stages"].values()), status["stages"]
    assert status["accounting"]["pending"] == 0
    assert not books.failures  # a refusal is not a failed attempt
    ledger = json.loads((cfg.parent / "batches" / "ledger.json").read_text())["shards"]
    assert sorted(b for r in ledger.values() for b in r["refused"]) == sorted(
        b["id"] for b in refused
    )
    finish(cfg, srv, reference, restart=False)


def test_cancel_withdraws_queued_shards_and_the_next_run_sends_them(
    servers: Servers, tmp_path: Path, reference: Path
) -> None:
    limit = third_of_the_job(servers, tmp_path)
    srv = servers.start(f"enqueued_limit={limit},line_delay=0.2")
    cfg = make_project(tmp_path / "p", srv, engine={"enqueued_token_limit": limit})
    ok(cfg, "prepare")
    ok(cfg, "submit")  # one batch created, the rest queued
    ledger_path = cfg.parent / "batches" / "ledger.json"
    records = json.loads(ledger_path.read_text())["shards"].values()
    queued = [r["file"] for r in records if r["state"] == "queued"]
    lines = sum(r["lines"] for r in records if r["state"] == "queued")
    assert len(queued) >= 3
    out = ok(cfg, "cancel").out
    assert f"withdrew {len(queued)} queued shard(s)" in out and "the next run sends them" in out
    ledger = json.loads(ledger_path.read_text())["shards"].values()
    assert sorted(r["file"] for r in ledger if r["state"] == "withdrawn") == sorted(queued)
    assert "withdrawn by cancel" in ok(cfg, "status").out
    ok(cfg, "submit", "--wait")  # sees the cancelled batch end; sends nothing new
    server_batches = list((srv.data / "batches").glob("*.json"))
    assert len(server_batches) == 1, "a cancelled project submitted its queued shards"
    ok(cfg, "collect")
    status = json.loads(ok(cfg, "status", "--json").out)
    assert status["stages"]["seed"]["pending"] >= lines  # pending again, not given up
    assert status["stages"]["seed"]["failed"] == 0
    books = finish(cfg, srv, reference)  # the next run sends them
    assert not books.all("given_up")
