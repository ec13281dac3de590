"""The fault matrix: the real CLI against a real `forge-batch serve` with --faults.

Each test injects one kind of fault, lets forge-batch cope as a user would run
it (again, when a fault cannot be recovered in one run), then checks the books
from the files alone (tests/accounting.py): every planned request is answered,
given up or pending, nothing is paid twice, nothing paid for is lost, status
--json agrees, and the dataset is the fault-free one (minus meta.batch_id,
which names the batch that answered, hence differs for resent requests).
See docs/reliability.md.
"""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from pathlib import Path

import pytest
from accounting import Books, account, read_jsonl
from faultkit import (  # noqa: F401 (fixtures)
    JOB,
    SENT_RE,
    Server,
    Servers,
    audit,
    cli,
    finish,
    make_project,
    ok,
    reference_fixture,
    servers_fixture,
)

from forge_batch import config as config_mod
from forge_batch.cache import ResponseCache

SEEDS = JOB["seeds"]


def failure_reasons(books: Books) -> Counter[str]:
    return Counter(f["reason"] for fs in books.failures.values() for f in fs)


# -- 1. failed lines: 500 resent, 400 given up ---------------------------------------------


def test_line_500_resent_and_line_400_given_up(
    servers: Servers, tmp_path: Path, reference: Path
) -> None:
    srv = servers.start("line_500=0.3,line_400=0.25,seed=11")
    cfg = make_project(tmp_path / "p", srv, engine={"max_attempts": 10})
    ok(cfg, "run")
    _, books = audit(cfg, srv)
    reasons = failure_reasons(books)
    assert reasons["http_500"] >= 1 and reasons["http_400"] >= 1, reasons
    given_up, judged = books.all("given_up"), set(books.planned["judge"])
    for key, fs in books.failures.items():
        # a 500 is resent (until it succeeds); a 400 is final after one attempt
        assert books.sent(key) == len(fs) + (key not in given_up)
        assert (key in given_up) == (fs[-1]["reason"] == "http_400"), fs
        assert all(f["reason"] == "http_500" for f in fs[:-1])
    assert given_up and all(books.reject_check[k] == "request_failed" for k in given_up - judged)
    # the judge stage too: a given-up judge request rejects its sample as judge_failed
    assert given_up & judged and all(
        books.reject_check[k] == "judge_failed" for k in given_up & judged
    )
    # rerun as a user would: the 400s stay given up, nothing is resent
    shards = sorted(p.name for p in (cfg.parent / "batches").glob("*-*.jsonl"))
    books = finish(cfg, srv, reference, rerun=True)
    assert books.all("given_up") == given_up
    assert sorted(p.name for p in (cfg.parent / "batches").glob("*-*.jsonl")) == shards


# -- 2. a batch expires with partial output -------------------------------------------------


def test_expired_batches_keep_partial_output_and_resend_the_rest(
    servers: Servers, tmp_path: Path, reference: Path
) -> None:
    srv = servers.start("expire_after=2")
    cfg = make_project(tmp_path / "p", srv)
    ok(cfg, "prepare")
    ok(cfg, "submit", "--wait")
    done = ok(cfg, "collect")
    status, books = audit(cfg, srv)
    batches = status["batches"]
    assert sum(b["lines"] > 2 for b in batches) >= 2, batches
    for b in batches:  # each batch stops after 2 lines; a 2-line batch just completes
        assert b["status"] == ("expired" if b["lines"] > 2 else "completed"), b
        assert b["request_counts"]["completed"] == min(2, b["lines"])  # partial output ...
    answered = sum(min(2, b["lines"]) for b in batches)
    assert len(books.answered["seed"]) == answered  # ... is cached, not resent
    assert failure_reasons(books) == {"batch_expired": SEEDS - answered}
    assert status["stages"]["seed"]["retrying"] == SEEDS - answered
    assert "batch_expired" in done.out, done.out
    books = finish(cfg, srv, reference)
    for key in books.failures:  # each expired request was sent again, once
        assert books.sent(key) == 2


# -- 3. validation failure (resent whole), tampered shard, cancel mid-way ---------------------


def test_validation_failure_resends_the_whole_batch(
    servers: Servers, tmp_path: Path, reference: Path
) -> None:
    srv = servers.start("fail_validation=1")
    cfg = make_project(tmp_path / "p", srv)
    ok(cfg, "prepare")
    # a shard edited after prepare is refused before anything is uploaded
    shard = cfg.parent / "batches" / "seed-0001.jsonl"
    original = shard.read_bytes()
    shard.write_bytes(original + b'{"custom_id": "x", "oops": true}\n')
    bad = cli(cfg, "submit")
    assert bad.code == 2 and len(bad.err.strip().splitlines()) == 1, str(bad)
    assert "shard changed" in bad.err and "prepare again" in bad.err
    assert not list((srv.data / "files").glob("*.json")) if (srv.data / "files").exists() else True
    ok(cfg, "prepare")
    assert shard.read_bytes() == original  # same pending set -> the same bytes
    ok(cfg, "run")
    status, books = audit(cfg, srv)
    failed = [b for b in status["batches"] if b["status"] == "failed"]
    assert len(failed) == 1, status["batches"]
    ledger = json.loads((cfg.parent / "batches" / "ledger.json").read_text())["shards"]
    (rec,) = [r for r in ledger.values() if r["status"] == "failed"]
    assert rec["errors"] and rec["errors"][0]["line"] == 1
    assert failure_reasons(books) == {"validation_failed": rec["lines"]}
    assert all(books.sent(k) == 2 for k in books.failures)  # resent once, then answered
    finish(cfg, srv, reference, restart=False)


def _server_batches(srv: Server) -> list[dict]:
    """The server's batches, oldest first: by creation number, as created_at is in whole
    seconds (a submit creates its batches within one) and ties would come in glob order."""
    folder = srv.data / "batches"
    records = sorted((json.loads(p.read_text()) for p in folder.glob("*.json")), key=_seq)
    return [r["batch"] for r in records]


def _seq(record: dict) -> int:
    return int(record["seq"])


def test_cancel_mid_way_keeps_what_finished(
    servers: Servers, tmp_path: Path, reference: Path
) -> None:
    srv = servers.start("line_delay=0.4")
    cfg = make_project(tmp_path / "p", srv)  # seed shards of 6 lines each
    ok(cfg, "prepare")
    ok(cfg, "submit")  # returns once the batches are created: the ledger says "validating"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the first batch done, the second under way
        batches = _server_batches(srv)
        done = [b for b in batches if b["status"] == "completed"]
        if done and any((b.get("request_counts") or {}).get("completed") for b in batches[1:]):
            break
        time.sleep(0.05)
    else:
        pytest.fail("no batch made progress")
    # the ledger still says the first batch runs: cancel must find out, not fail on a 400
    cancelled = ok(cfg, "cancel")
    asked = int(cancelled.out.split("asked ")[1].split()[0])
    assert asked in (2, 3), cancelled.out  # not the finished one (nor the second, if it just did)
    ok(cfg, "submit", "--wait")  # poll until every batch is terminal
    ok(cfg, "collect")
    status, books = audit(cfg, srv)
    statuses = Counter(b["status"] for b in status["batches"])
    assert statuses["completed"] >= 1 and statuses["cancelled"] >= 2, statuses
    assert 7 <= len(books.answered["seed"]) < SEEDS  # what finished before the cancel is kept
    assert set(failure_reasons(books)) == {"batch_cancelled"}
    assert status["stages"]["seed"]["retrying"] == SEEDS - len(books.answered["seed"])
    books = finish(cfg, srv, reference)
    for key in books.failures:
        assert books.sent(key) == 2


# -- 4. HTTP 429 / 500 / connection reset on API calls ----------------------------------------


def test_http_429_500_and_reset_are_retried_without_duplicates(
    servers: Servers, tmp_path: Path, reference: Path
) -> None:
    # seed 18: call 0 (the first upload) is reset, then a 500 and a 429 within 8 calls
    srv = servers.start("http_429=0.1,http_500=0.1,reset=0.06,seed=18")
    cfg = make_project(tmp_path / "p", srv, engine={"keep_inputs": True})  # uploads counted below
    ok(cfg, "run")
    _, books = audit(cfg, srv)  # one batch per upload
    assert not books.failures  # HTTP faults never fail a request line
    files = [json.loads(p.read_text())["file"] for p in (srv.data / "files").glob("*.json")]
    uploads = Counter(f["filename"] for f in files if f["purpose"] == "batch")
    assert uploads and max(uploads.values()) == 1, uploads  # a lost upload was found, not redone
    finish(cfg, srv, reference, restart=False)


# -- 5. output out of order, a line twice ------------------------------------------------------


def test_shuffled_output_and_duplicate_lines_match_by_custom_id(
    servers: Servers, tmp_path: Path, reference: Path
) -> None:
    srv = servers.start("shuffle_output=1,duplicate_line=2")
    cfg = make_project(tmp_path / "p", srv)
    books = finish(cfg, srv, reference, restart=False)
    ledger = json.loads((cfg.parent / "batches" / "ledger.json").read_text())["shards"]
    repeated = sum(r["collected"]["repeated"] for r in ledger.values())
    assert repeated >= len(ledger)  # every batch had duplicated lines; each ingested once
    assert not books.failures


# -- 6. paid-for bad answers: cached, rejected with the right check, never resent --------------

DAMAGE_CHECK = {"garbage": "parse", "length": "truncated", "refusal": "refusal"}


def _damaged_by_server(srv: Server) -> dict[str, str]:
    """custom_id -> fault kind, read from the server's output files."""
    out = {}
    for batch in _server_batches(srv):
        if not batch.get("output_file_id"):
            continue
        for line in read_jsonl(srv.data / "files" / f"{batch['output_file_id']}.data"):
            choice = line["response"]["body"]["choices"][0]
            message = choice["message"]
            if message.get("refusal"):
                out[line["custom_id"]] = "refusal"
            elif choice["finish_reason"] == "length":
                out[line["custom_id"]] = "length"
            elif (message.get("content") or "").startswith("Sure! Here is the JSON"):
                out[line["custom_id"]] = "garbage"
    return out


def test_garbage_cut_off_and_refused_answers_are_cached_and_rejected(
    servers: Servers, tmp_path: Path, reference: Path
) -> None:
    # checked in this order, first hit wins: each kind hits ~1 line in 4 (~75% damaged)
    srv = servers.start("line_garbage=0.25,line_length=0.34,line_refusal=0.5,seed=6")
    cfg = make_project(tmp_path / "p", srv)
    ok(cfg, "run")
    damaged = _damaged_by_server(srv)
    assert set(damaged.values()) == set(DAMAGE_CHECK), damaged
    _, books = audit(cfg, srv)
    with ResponseCache(config_mod.load(cfg).paths.cache) as cache:
        assert cache.contains_many(list(damaged)) == set(damaged)  # paid for: kept
    judged = set(books.planned["judge"])
    assert set(damaged) & judged  # the judge stage's answers are damaged too
    for key, kind in damaged.items():
        # a damaged verdict is paid for and unusable: its sample is judge_failed, not kept
        want = "judge_failed" if key in judged else DAMAGE_CHECK[kind]
        assert books.reject_check[key] == want, (key, kind)
        assert books.sent(key) == 1
    for r in books.rejects:
        if r["check"] == "judge_failed":
            assert r["reason"].startswith("unusable verdict: "), r["reason"]
    books = finish(cfg, srv, reference, damaged=set(damaged), rerun=True)
    assert all(books.sent(key) == 1 for key in damaged)  # the rerun sent none of them again


# -- 8. the server restarts between submit and collect -------------------------------------------


def test_server_restart_between_submit_and_collect(
    servers: Servers, tmp_path: Path, reference: Path
) -> None:
    srv = servers.start("line_delay=0.05")
    cfg = make_project(tmp_path / "p", srv)
    ok(cfg, "prepare")
    ok(cfg, "submit")
    time.sleep(0.4)  # some lines done, most not
    srv.kill(signal.SIGKILL)
    srv.start("line_delay=0.02")  # same --data: unfinished batches resume
    ok(cfg, "submit", "--wait")
    ok(cfg, "collect")
    status, books = audit(cfg, srv)
    assert {b["status"] for b in status["batches"]} == {"completed"}
    assert not books.failures and len(books.answered["seed"]) == SEEDS
    finish(cfg, srv, reference)


# -- 9. a corrupted cache entry ------------------------------------------------------------------


def _corrupt(cfg: Path, key: str, how: str) -> None:
    with ResponseCache(config_mod.load(cfg).paths.cache) as cache:
        raw = cache._cache.get(key)
        if how == "truncate":
            cache.put_raw(key, raw[: len(raw) // 2])
        else:  # one flipped bit in the payload: still JSON-ish, the checksum says no
            flipped = bytearray(raw)
            flipped[-5] ^= 0x20
            cache.put_raw(key, bytes(flipped))


def test_corrupted_cache_entries_are_dropped_and_requested_again(
    servers: Servers, tmp_path: Path, reference: Path
) -> None:
    srv = servers.start()
    cfg = make_project(tmp_path / "p", srv)
    ok(cfg, "run")
    books = account(cfg, server_data=srv.data)
    seeds = [r for r in books.dataset if r["source"] == "seed"]
    seed_a, seed_c = seeds[0]["meta"]["request_key"], seeds[-1]["meta"]["request_key"]
    para_b = next(
        r["meta"]["request_key"]
        for r in books.dataset
        if r["source"] == "paraphrase"
        and r["meta"]["parent"] not in (seeds[0]["id"], seeds[-1]["id"])
    )
    # collect (build) finds them: dropped, never parsed into a sample, pending again
    _corrupt(cfg, seed_a, "truncate")
    _corrupt(cfg, para_b, "flip")
    done = ok(cfg, "collect")
    assert "dropped 2 corrupted cache entries" in done.out, done.out
    status, _ = audit(cfg, srv, repaid={seed_a, para_b})
    assert (
        status["stages"]["seed"]["pending"] == 1 and status["stages"]["paraphrase"]["pending"] == 1
    )
    out = (cfg.parent / "out" / "dataset.jsonl").read_text() + (
        cfg.parent / "out" / "rejects.jsonl"
    ).read_text()
    assert seed_a not in out and para_b not in out
    done = ok(cfg, "run")
    assert SENT_RE.format(2) in done.out, done.out  # exactly those two, nothing else
    # prepare finds one too (a run straight after the damage): dropped and sent again at once
    _corrupt(cfg, seed_c, "truncate")
    done = ok(cfg, "run")
    assert SENT_RE.format(1) in done.out, done.out
    repaid = {seed_a, para_b, seed_c}
    books = finish(cfg, srv, reference, restart=False, repaid=repaid)
    assert {k for k in books.submissions if books.sent(k) > 1} == repaid
    assert all(len(books.server_ok[k]) == 2 for k in repaid)  # the price of a damaged disk
