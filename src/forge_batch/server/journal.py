"""Per-batch journal of finished lines, so progress survives a crash.

Each finished request appends one complete output record (the exact line that
will go to the output or error file) and is flushed at once. This file is the
one place state is appended rather than replaced atomically: rewriting it per
line would cost O(n^2). On load, an unparsable line (the tail a crash cut
short) is dropped and the file is rewritten atomically without it; those
requests simply run again.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from ..fsio import atomic_writer

log = logging.getLogger(__name__)


def is_ok(record: dict[str, Any]) -> bool:
    response = record.get("response")
    return isinstance(response, dict) and response.get("status_code") == 200


class Journal:
    """Append-only record of a batch's finished lines."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: BinaryIO | None = None

    def load(self) -> dict[str, dict[str, Any]]:
        """Finished records by custom_id, after dropping any damaged line."""
        done: dict[str, dict[str, Any]] = {}
        if not self.path.exists():
            return done
        damaged = 0
        for raw in self._raw_lines():
            try:
                rec = orjson.loads(raw)
                if not isinstance(rec, dict) or not isinstance(rec.get("custom_id"), str):
                    raise ValueError("not a record")
            except ValueError:
                damaged += 1
                continue
            done.setdefault(rec["custom_id"], rec)
        if damaged:
            log.warning("%s: dropped %d damaged line(s); they will run again", self.path, damaged)
            with atomic_writer(self.path) as fh:
                for rec in done.values():
                    fh.write(orjson.dumps(rec) + b"\n")
        return done

    def _raw_lines(self) -> Iterator[bytes]:
        with open(self.path, "rb") as fh:
            for raw in fh:
                if not raw.endswith(b"\n"):
                    yield b"\x00truncated"  # a crash cut this line short
                elif raw.strip():
                    yield raw

    def records(self) -> Iterator[dict[str, Any]]:
        """The journal's records in the order they finished."""
        if self.path.exists():
            for raw in self._raw_lines():
                yield orjson.loads(raw)

    def append(self, record: dict[str, Any]) -> None:
        if self._fh is None:
            self._fh = open(self.path, "ab")  # noqa: SIM115 (kept open across lines)
        self._fh.write(orjson.dumps(record) + b"\n")
        self._fh.flush()

    def sync(self) -> None:
        """Push appended lines to disk (called with each batch checkpoint)."""
        if self._fh is not None:
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def remove(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)
