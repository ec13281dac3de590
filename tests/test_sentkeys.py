"""batches/.sent-keys: the shards' keys are read once, and read again whenever in doubt."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from forge_batch import keys, sentkeys
from forge_batch.shards import ShardInfo, batch_line, file_sha256


def _key(i: int) -> str:
    return keys.key_of(f"request {i}".encode())


def _shard(folder: Path, name: str, ids: list[int]) -> ShardInfo:
    path = folder / name
    path.write_bytes(b"".join(batch_line(_key(i), b'{"model":"m"}') for i in ids))
    return ShardInfo(name, "seed", "m", len(ids), path.stat().st_size, file_sha256(path))


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shards written just now count as settled (as if their ctime were long past)."""
    monkeypatch.setattr(sentkeys, "SETTLE_NS", -(10**15))


def _no_reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    reads: list[Path] = []
    real = sentkeys.read_keys

    def counting(path: Path):  # type: ignore[no-untyped-def]
        reads.append(path)
        return real(path)

    monkeypatch.setattr(sentkeys, "read_keys", counting)
    return reads


def test_kept_keys_are_used_instead_of_reading(
    tmp_path: Path, settled: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    shards = [_shard(tmp_path, "a.jsonl", [1, 2, 3]), _shard(tmp_path, "b.jsonl", [4])]
    first = sentkeys.sent_keys(tmp_path, shards)
    assert first == {_key(i) for i in (1, 2, 3, 4)}
    assert (tmp_path / sentkeys.FILE).exists()
    reads = _no_reads(monkeypatch)
    assert sentkeys.sent_keys(tmp_path, shards) == first
    assert reads == []


def test_an_edited_shard_is_read_again(
    tmp_path: Path, settled: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    shards = [_shard(tmp_path, "a.jsonl", [1, 2])]
    sentkeys.sent_keys(tmp_path, shards)
    path = tmp_path / "a.jsonl"
    before = path.stat()
    time.sleep(0.05)  # past the clock tick of the first write
    data = path.read_bytes().replace(_key(2).encode(), _key(9).encode())  # same size
    path.write_bytes(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # mtime put back: ctime moves
    reads = _no_reads(monkeypatch)
    assert sentkeys.sent_keys(tmp_path, shards) == {_key(1), _key(9)}
    assert reads == [path]


def test_a_deleted_shard_sent_nothing(tmp_path: Path, settled: None) -> None:
    shards = [_shard(tmp_path, "a.jsonl", [1]), _shard(tmp_path, "b.jsonl", [2])]
    sentkeys.sent_keys(tmp_path, shards)
    (tmp_path / "b.jsonl").unlink()
    assert sentkeys.sent_keys(tmp_path, shards) == {_key(1)}
    assert [f for f, _ in sentkeys.read_file(tmp_path)] == ["a.jsonl"]


def test_a_shard_changed_just_now_is_not_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its ctime is within SETTLE_NS of the read: a write in the same tick could hide."""
    shards = [_shard(tmp_path, "a.jsonl", [1])]
    assert sentkeys.sent_keys(tmp_path, shards) == {_key(1)}
    assert sentkeys.read_file(tmp_path) == {}
    reads = _no_reads(monkeypatch)
    sentkeys.sent_keys(tmp_path, shards)
    assert reads == [tmp_path / "a.jsonl"]


def test_another_manifest_entry_for_the_file_is_read(
    tmp_path: Path, settled: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = _shard(tmp_path, "a.jsonl", [1])
    sentkeys.sent_keys(tmp_path, [info])
    reads = _no_reads(monkeypatch)
    other = ShardInfo(info.file, info.stage, info.model, 1, info.bytes, "0" * 64)
    assert sentkeys.sent_keys(tmp_path, [other]) == {_key(1)}
    assert len(reads) == 1


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[:-5],
        lambda b: b.replace(b"fb-sentkeys/1", b"fb-sentkeys/9"),
        lambda b: b"not json\n",
        lambda b: b.replace(b'"count":2', b'"count":3'),
    ],
)
def test_a_damaged_file_means_reading(tmp_path: Path, settled: None, damage) -> None:  # type: ignore[no-untyped-def]
    shards = [_shard(tmp_path, "a.jsonl", [1, 2])]
    sentkeys.sent_keys(tmp_path, shards)
    kept = tmp_path / sentkeys.FILE
    kept.write_bytes(damage(kept.read_bytes()))
    assert sentkeys.read_file(tmp_path) == {}
    assert sentkeys.sent_keys(tmp_path, shards) == {_key(1), _key(2)}
    assert len(sentkeys.read_file(tmp_path)) == 1  # written anew


def test_foreign_custom_ids_are_read_every_time(
    tmp_path: Path, settled: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(batch_line("my-own-id", b"{}"))
    info = ShardInfo("a.jsonl", "seed", "m", 1, path.stat().st_size, file_sha256(path))
    assert sentkeys.sent_keys(tmp_path, [info]) == {"my-own-id"}
    reads = _no_reads(monkeypatch)
    assert sentkeys.sent_keys(tmp_path, [info]) == {"my-own-id"}
    assert len(reads) == 1
