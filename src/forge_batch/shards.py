"""Batch API input files: write them within the limits, read keys back.

A shard is ``<stage>-NNNN.jsonl``: one model per file, at most ``max_lines``
lines and ``max_bytes`` bytes (OpenAI: 50,000 and 200 MB; settings because
providers differ). Each line is exactly

    {"custom_id":"<key>","method":"POST","url":"/v1/chat/completions","body":<canonical body>}

so the same pending set, in the same order, gives byte-identical shards.
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import orjson

from .errors import InputError
from .fsio import atomic_writer, disk_full_guard
from .keys import KEY_LENGTH

ENDPOINT = "/v1/chat/completions"
FLUSH_BYTES = 1 << 20
NAME_RE = re.compile(r"^(?P<stage>[a-z_]+)-(?P<n>\d{4,})\.jsonl$")


@dataclass(frozen=True, slots=True)
class ShardInfo:
    file: str  # name inside the batches folder
    stage: str
    model: str
    lines: int
    bytes: int
    sha256: str


def batch_line(key: str, canonical_body: bytes) -> bytes:
    """One Batch API input line around an already canonical body."""
    return (
        b'{"custom_id":"'
        + key.encode("ascii")
        + b'","method":"POST","url":"'
        + ENDPOINT.encode()
        + b'","body":'
        + canonical_body
        + b"}\n"
    )


class _BlockSink:
    """Writes and hashes blocks on a thread of its own: both release the GIL, so
    the disk and sha256 run on the second core while the next requests render.
    An error there (a full disk) is raised in the caller at the next call."""

    def __init__(self, fh: BinaryIO) -> None:
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=4)
        self._hash = hashlib.sha256()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fh,), daemon=True)
        self._thread.start()

    def _run(self, fh: BinaryIO) -> None:
        while (block := self._queue.get()) is not None:
            if self._error is None:
                try:
                    fh.write(block)
                    self._hash.update(block)
                except BaseException as exc:  # handed to the caller, never lost
                    self._error = exc

    def put(self, block: bytes) -> None:
        self._raise()
        self._queue.put(block)

    def finish(self) -> str:
        """Wait for every block; the sha256 of all of them."""
        self._queue.put(None)
        self._thread.join()
        self._raise()
        return self._hash.hexdigest()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error


class ShardWriter:
    """Streams lines into numbered shards, cutting a new one at either limit."""

    def __init__(
        self,
        folder: Path,
        stage: str,
        model: str,
        first_number: int,
        max_lines: int,
        max_bytes: int,
    ) -> None:
        self.folder, self.stage, self.model = folder, stage, model
        self.number = first_number
        self.max_lines, self.max_bytes = max_lines, max_bytes
        self.shards: list[ShardInfo] = []
        self._ctx = None
        self._fh: BinaryIO | None = None
        self._lines = self._bytes = 0
        self._sink: _BlockSink | None = None
        self._pending: list[bytes] = []
        self._pending_bytes = 0

    def write(self, line: bytes) -> None:
        """Add one line; lines are buffered and written (and hashed) in blocks."""
        if len(line) > self.max_bytes:
            raise InputError(
                f"one request is {len(line)} bytes, over the shard limit of {self.max_bytes}",
                where=f"{self.stage} request",
            )
        if self._fh is not None and (
            self._lines >= self.max_lines or self._bytes + len(line) > self.max_bytes
        ):
            self._finish()
        if self._fh is None:
            self._open()
        self._pending.append(line)
        self._pending_bytes += len(line)
        if self._pending_bytes >= FLUSH_BYTES:
            self._flush()
        self._lines += 1
        self._bytes += len(line)

    def _flush(self) -> None:
        if self._pending and self._sink is not None:
            # written outside atomic_writer's own frame: a full disk is named here
            with disk_full_guard(self.folder / self._name):
                self._sink.put(b"".join(self._pending))
        self._pending, self._pending_bytes = [], 0

    def _open(self) -> None:
        name = f"{self.stage}-{self.number:04d}.jsonl"
        self._ctx = atomic_writer(self.folder / name)
        self._fh = self._ctx.__enter__()
        self._sink = _BlockSink(self._fh)
        self._name = name
        self._lines = self._bytes = 0

    def _finish(self) -> None:
        assert self._ctx is not None and self._sink is not None
        self._flush()
        with disk_full_guard(self.folder / self._name):
            digest = self._sink.finish()
        self._ctx.__exit__(None, None, None)
        self.shards.append(
            ShardInfo(self._name, self.stage, self.model, self._lines, self._bytes, digest)
        )
        self._ctx = self._fh = self._sink = None
        self.number += 1

    def close(self) -> list[ShardInfo]:
        if self._fh is not None:
            self._finish()
        return self.shards

    def abort(self) -> None:
        """Drop the shard being written (its temporary file is removed)."""
        self._pending, self._pending_bytes = [], 0
        if self._sink is not None:
            with contextlib.suppress(BaseException):
                self._sink.finish()
            self._sink = None
        if self._ctx is not None:
            with contextlib.suppress(BaseException):
                self._ctx.__exit__(RuntimeError, RuntimeError("aborted"), None)
            self._ctx = self._fh = None


def shard_number(name: str) -> tuple[str, int] | None:
    m = NAME_RE.match(name)
    return (m["stage"], int(m["n"])) if m else None


def read_keys(path: Path) -> Iterator[str]:
    """The custom_ids of a shard, in file order."""
    head = b'{"custom_id":"'
    end = len(head) + KEY_LENGTH
    with open(path, "rb") as fh:
        for n, line in enumerate(fh, 1):
            if line.startswith(head) and line[end : end + 2] == b'",':
                yield line[len(head) : end].decode("ascii")  # our own fixed layout
                continue
            if not line.strip():
                continue
            try:
                yield orjson.loads(line)["custom_id"]
            except (orjson.JSONDecodeError, KeyError, TypeError):
                raise InputError(
                    "not a Batch API request line", path=path, where=f"line {n}"
                ) from None


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
