"""The response cache, compact key sets and the ledger's failure bookkeeping."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from forge_batch import cache as cache_mod
from forge_batch.cache import ResponseCache
from forge_batch.keys import request_key
from forge_batch.keyset import KeySet
from forge_batch.ledger import Failure, State

BODY = {"choices": [{"message": {"content": "{}"}, "finish_reason": "stop"}], "model": "m"}


def keys(n: int) -> list[str]:
    return [request_key({"n": i}) for i in range(n)]


def test_entry_format_is_fixed() -> None:
    raw = cache_mod.encode({"a": 1}, "batch_x")
    assert raw == (
        b"FBC1" + bytes.fromhex("11d7d4f8f0131e9c") + b'{"body":{"a":1},"batch_id":"batch_x"}'
    )
    assert cache_mod.decode(raw) == cache_mod.Cached({"a": 1}, "batch_x")


def test_put_get_and_bulk_membership(tmp_path: Path) -> None:
    ks = keys(1200)
    with ResponseCache(tmp_path / "c") as cache:
        assert cache.put_many((k, BODY, "b1") for k in ks[:700]) == 700
        assert cache.contains_many(ks) == set(ks[:700])
        assert cache.get(ks[0]) == cache_mod.Cached(BODY, "b1")
        assert cache.get(ks[900]) is None
    with ResponseCache(tmp_path / "c") as cache:  # persisted
        assert len(cache) == 700


def test_corrupted_entry_is_dropped_not_parsed(tmp_path: Path) -> None:
    k = keys(1)[0]
    with ResponseCache(tmp_path / "c") as cache:
        raw = cache_mod.encode(BODY, "b1")
        cache.put_raw(k, raw[:-7])  # truncated bytes
        assert cache.get(k) is None
        assert cache.dropped == [k]
        assert k not in cache  # so prepare sends it again
        cache.put_raw(k, b"FBC1" + b"\x00" * 8 + raw[12:])  # wrong checksum
        assert cache.get(k) is None


def test_keyset_membership() -> None:
    ks = keys(5000)
    s = KeySet(ks[:2500])
    assert len(s) == 2500
    assert s.contains_many(ks) == [True] * 2500 + [False] * 2500
    assert ks[0] in s and ks[-1] not in s
    assert KeySet().contains_many(ks[:3]) == [False] * 3


def test_failure_summary_counts_attempts_and_gives_up(tmp_path: Path) -> None:
    state = State(tmp_path)
    a, b, c = keys(3)
    state.write_failures(
        "batch_1",
        [
            Failure(a, "batch_1", "http_500", "boom", True),
            Failure(b, "batch_1", "http_400", "bad", False),
        ],
    )
    state.write_failures(
        "batch_2",
        [
            Failure(a, "batch_2", "batch_expired", "late", True),
            Failure(c, "batch_2", "http_500", "boom", True),
        ],
    )
    summary = State(tmp_path).failure_summary(max_attempts=2)
    assert summary[a][0] == 2 and summary[a][2] is True  # two attempts: given up
    assert summary[b][2] is True  # not retryable: given up at once
    assert summary[c][0] == 1 and summary[c][2] is False  # will be resent


def test_a_killed_writers_temp_files_go_when_the_project_is_locked(tmp_path: Path) -> None:
    """Seen in the SIGKILL test: a collect killed while writing batches/failures/ left
    ``<batch>.jsonl.tmp-<pid>`` behind; the next command holding the lock removes it."""
    import subprocess
    import sys

    from forge_batch.ledger import project_lock

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    batches = tmp_path / "batches"
    (batches / "failures").mkdir(parents=True)
    left = [
        batches / f"ledger.json.tmp-{dead}",
        batches / f".download-{dead}.jsonl",
        batches / "failures" / f"batch_x.jsonl.tmp-{dead}",
    ]
    mine = batches / "failures" / f"batch_y.jsonl.tmp-{os.getpid()}"  # a live writer's
    for p in [*left, mine]:
        p.write_bytes(b"half")
    with project_lock(batches):
        assert not any(p.exists() for p in left)
        assert mine.exists()


def test_sync_puts_committed_writes_into_the_database_file(tmp_path: Path) -> None:
    """Commits sit in the write-ahead log (checkpointed every 1,000 pages); ``sync``
    checkpoints it, so the rows are in cache.db itself, fsynced, before collect
    records a batch as collected."""
    import sqlite3

    def in_file() -> int:  # cache.db alone, the log ignored
        uri = f"file:{tmp_path / 'c' / 'cache.db'}?mode=ro&immutable=1"
        con = sqlite3.connect(uri, uri=True)
        try:
            return int(con.execute("SELECT COUNT(*) FROM Cache").fetchone()[0])
        finally:
            con.close()

    ks = keys(300)
    with ResponseCache(tmp_path / "c") as cache:
        cache.put_many((k, BODY, "b1") for k in ks)
        assert in_file() == 0
        cache.sync()
        assert in_file() == 300


def test_sync_fsyncs_the_log_when_a_reader_keeps_the_checkpoint_short(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A passive checkpoint stops short of frames a reader's snapshot may still
    need; those commits are durable only once the log itself is fsynced."""
    import sqlite3

    synced: list[str] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        synced.append(os.path.basename(os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    with ResponseCache(tmp_path / "c") as cache:
        cache.put_many((k, BODY, "b1") for k in keys(10))
        reader = sqlite3.connect(tmp_path / "c" / "cache.db")
        reader.execute("BEGIN")
        reader.execute("SELECT COUNT(*) FROM Cache").fetchone()  # holds a snapshot
        try:
            cache.put_many((k, BODY, "b2") for k in keys(300)[10:])
            monkeypatch.setattr(os, "fsync", spy)
            cache.sync()
        finally:
            reader.close()
    assert "cache.db-wal" in synced, synced
