"""A scratch file of samples on disk, addressed by offset, so a build's memory stays flat.

The build appends every accepted sample and reads back the ones it needs
(seeds for their paraphrases, the kept ones for the dataset) by offset.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import orjson

from .fsio import disk_full_guard
from .records import Sample


class Spool:
    """Accepted samples on disk, addressed by offset, so memory stays flat.

    One handle appends, another reads: no seek per write, and the writer is
    flushed only when a read reaches data it still buffers.
    """

    def __init__(self, path: Path) -> None:
        self._writer = open(path, "wb")  # noqa: SIM115 - closed in close()
        self._reader = open(path, "rb")  # noqa: SIM115 - closed in close()
        self._end = self._flushed = 0

    def put(self, sample: Sample) -> int:
        return self.put_line(orjson.dumps(sample.to_json()) + b"\n")

    def put_line(self, data: bytes) -> int:
        """Append one newline-terminated line; its offset."""
        offset = self._end
        self._writer.write(data)
        self._end += len(data)
        return offset

    def get(self, offset: int) -> bytes:
        if offset >= self._flushed:
            self._writer.flush()
            self._flushed = self._end
        self._reader.seek(offset)
        return self._reader.readline()

    def close(self) -> None:
        self._writer.close()
        self._reader.close()


@contextlib.contextmanager
def spool(folder: Path | None) -> Iterator[Spool]:
    """A scratch file for accepted samples: in ``folder``, or a temp dir when None.

    It wraps the whole build, so a full disk met anywhere in it (the spool's
    own buffered writes included) is a DiskFullError, not a traceback.
    """
    if folder is None:
        with (
            disk_full_guard(tempfile.gettempdir()),
            tempfile.TemporaryDirectory(prefix="forge-batch-") as tmp,
        ):
            spool = Spool(Path(tmp) / "spool.jsonl")
            try:
                yield spool
            finally:
                spool.close()
        return
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f".spool-{os.getpid()}.jsonl"
    spool = None
    try:
        with disk_full_guard(folder):
            spool = Spool(path)
            yield spool
    finally:
        if spool is not None:
            with contextlib.suppress(OSError):
                spool.close()
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
