"""On-disk state of the local server: uploaded files and batches.

Layout under the data folder::

    files/<file_id>.json      {"file": <FileObject>, "seq": n}
    files/<file_id>.data      the raw bytes
    batches/<batch_id>.json   {"batch": <Batch>, "seq": n, "forced_invalid": bool}
    batches/<batch_id>.partial.jsonl   results of finished lines (see journal.py)
    batches/<batch_id>.input.jsonl     the running batch's link to its input bytes

Every JSON write is atomic (fsio), so a crash leaves the old or the new record.
Records are also held in memory behind one lock: the HTTP handlers and the
worker thread share them, and GET shows progress the worker has not yet
persisted. ``seq`` orders objects created within the same second.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from ..fsio import atomic_write, atomic_writer, remove_stale_temps
from . import ids

log = logging.getLogger(__name__)

TERMINAL = frozenset({"failed", "completed", "expired", "cancelled"})
WINDOW_SECONDS = 24 * 3600

Obj = dict[str, Any]


def now() -> int:
    return int(time.time())


class Store:
    """Files and batches, in memory and on disk."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.files_dir = self.root / "files"
        self.batches_dir = self.root / "batches"
        self._lock = threading.RLock()
        self._files: dict[str, tuple[int, Obj]] = {}
        self._batches: dict[str, tuple[int, Obj, bool]] = {}
        self._seq = 0
        self._load()

    # -- loading -------------------------------------------------------------

    def _load(self) -> None:
        for folder in (self.files_dir, self.batches_dir):
            folder.mkdir(parents=True, exist_ok=True)
            remove_stale_temps(folder)
        for path in self.files_dir.glob("*.json"):
            rec = self._read(path, ids.is_file_id)
            if rec is not None and (self.files_dir / f"{path.stem}.data").is_file():
                self._files[path.stem] = (int(rec["seq"]), rec["file"])
        for path in self.batches_dir.glob("*.json"):
            rec = self._read(path, ids.is_batch_id)
            if rec is not None:
                forced = bool(rec.get("forced_invalid", False))
                self._batches[path.stem] = (int(rec["seq"]), rec["batch"], forced)
        seqs = [s for s, _ in self._files.values()] + [s for s, _, _ in self._batches.values()]
        self._seq = max(seqs, default=0)

    @staticmethod
    def _read(path: Path, valid: Callable[[object], bool]) -> Obj | None:
        if not valid(path.stem):
            return None
        try:
            rec = orjson.loads(path.read_bytes())
            if not isinstance(rec, dict) or "seq" not in rec:
                raise ValueError("not a record")
            return rec
        except (OSError, ValueError) as exc:
            log.warning("skipping unreadable state file %s: %s", path, exc)
            return None

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    # -- files ---------------------------------------------------------------

    def data_path(self, file_id: str) -> Path:
        """Where a file's bytes live; only for ids that passed the regex."""
        if not ids.is_file_id(file_id):
            raise ValueError(f"invalid file id {file_id!r}")
        return self.files_dir / f"{file_id}.data"

    @contextlib.contextmanager
    def new_file_writer(self, file_id: str) -> Iterator[BinaryIO]:
        """Atomic writer for a file's bytes; register the file afterwards."""
        with atomic_writer(self.data_path(file_id)) as fh:
            yield fh

    def register_file(self, file_id: str, filename: str, purpose: str, size: int) -> Obj:
        obj = {
            "id": file_id,
            "object": "file",
            "bytes": size,
            "created_at": now(),
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
            "status_details": None,
            "expires_at": None,
        }
        with self._lock:
            seq = self._next_seq()
            record = orjson.dumps({"file": obj, "seq": seq})
            atomic_write(self.files_dir / f"{file_id}.json", record)
            self._files[file_id] = (seq, obj)
        return copy.deepcopy(obj)

    def write_file(self, file_id: str, filename: str, purpose: str, lines: Iterable[bytes]) -> Obj:
        """Write a server-made file (batch output) from its lines, then register it."""
        size = 0
        with self.new_file_writer(file_id) as fh:
            for line in lines:
                fh.write(line)
                size += len(line)
        return self.register_file(file_id, filename, purpose, size)

    def get_file(self, file_id: str) -> Obj | None:
        with self._lock:
            rec = self._files.get(file_id) if ids.is_file_id(file_id) else None
            return copy.deepcopy(rec[1]) if rec else None

    def list_files(self, purpose: str | None = None, order: str = "desc") -> list[Obj]:
        with self._lock:
            recs = sorted(self._files.values(), key=lambda r: r[0], reverse=order != "asc")
            return [copy.deepcopy(o) for _, o in recs if purpose is None or o["purpose"] == purpose]

    def delete_file(self, file_id: str) -> bool:
        with self._lock:
            if self._files.pop(file_id, None) is None:
                return False
            (self.files_dir / f"{file_id}.json").unlink(missing_ok=True)
            self.data_path(file_id).unlink(missing_ok=True)
            return True

    # -- batches -------------------------------------------------------------

    def create_batch(
        self,
        input_file_id: str,
        endpoint: str,
        window: str,
        metadata: dict[str, str] | None,
        forced_invalid: bool,
    ) -> Obj:
        created = now()
        batch: Obj = {
            "id": ids.new_batch_id(),
            "object": "batch",
            "endpoint": endpoint,
            "model": None,
            "errors": None,
            "input_file_id": input_file_id,
            "completion_window": window,
            "status": "validating",
            "output_file_id": None,
            "error_file_id": None,
            "created_at": created,
            "in_progress_at": None,
            "expires_at": created + WINDOW_SECONDS,
            "finalizing_at": None,
            "completed_at": None,
            "failed_at": None,
            "expired_at": None,
            "cancelling_at": None,
            "cancelled_at": None,
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
            "usage": None,
            "metadata": metadata,
        }
        with self._lock:
            self._batches[batch["id"]] = (self._next_seq(), batch, forced_invalid)
            self._persist(batch["id"])
            return copy.deepcopy(batch)

    def get_batch(self, batch_id: str) -> Obj | None:
        with self._lock:
            rec = self._batches.get(batch_id) if ids.is_batch_id(batch_id) else None
            return copy.deepcopy(rec[1]) if rec else None

    def seq(self, batch_id: str) -> int:
        """The batch's creation number (1, 2, ...): stable across restarts."""
        with self._lock:
            return self._batches[batch_id][0]

    def forced_invalid(self, batch_id: str) -> bool:
        with self._lock:
            return self._batches[batch_id][2]

    def status(self, batch_id: str) -> str:
        with self._lock:
            return str(self._batches[batch_id][1]["status"])

    def list_batches(self) -> list[Obj]:
        """All batches, newest first."""
        with self._lock:
            recs = sorted(self._batches.values(), key=lambda r: r[0], reverse=True)
            return [copy.deepcopy(b) for _, b, _ in recs]

    def unfinished_batches(self) -> list[str]:
        """Ids of batches not yet terminal, oldest first (the resume order)."""
        with self._lock:
            recs = sorted(self._batches.values(), key=lambda r: r[0])
            return [b["id"] for _, b, _ in recs if b["status"] not in TERMINAL]

    def update_batch(self, batch_id: str, *, persist: bool = True, **fields: Any) -> None:
        """Set fields of a batch (called per line for its counts: no copy returned)."""
        with self._lock:
            self._batches[batch_id][1].update(copy.deepcopy(fields))
            if persist:
                self._persist(batch_id)

    def transition(
        self, batch_id: str, allowed: Collection[str], status: str, **fields: Any
    ) -> bool:
        """Move to ``status`` only if the current status is in ``allowed``.

        The check and the write happen under one lock, so a cancel arriving
        from an HTTP handler and the worker's next step cannot both win.
        """
        with self._lock:
            batch = self._batches[batch_id][1]
            if batch["status"] not in allowed:
                return False
            batch.update(copy.deepcopy(fields), status=status)
            self._persist(batch_id)
            return True

    def _persist(self, batch_id: str) -> None:
        seq, batch, forced = self._batches[batch_id]
        record = {"batch": batch, "seq": seq, "forced_invalid": forced}
        atomic_write(self.batches_dir / f"{batch_id}.json", orjson.dumps(record))

    def input_copy_path(self, batch_id: str) -> Path:
        if not ids.is_batch_id(batch_id):
            raise ValueError(f"invalid batch id {batch_id!r}")
        return self.batches_dir / f"{batch_id}.input.jsonl"

    def pin_input(self, batch_id: str, file_id: str) -> Path:
        """The batch's own reference to its input bytes: a hard link (else a copy).

        A client may delete the input file while its batch runs (OpenAI keeps
        running it). Without its own reference the worker could not list the
        unrun lines at cancel time, and the finished, paid answers would be
        lost with the batch. Raises FileNotFoundError if the input is gone.
        """
        dest = self.input_copy_path(batch_id)
        if dest.exists():
            return dest
        src = self.data_path(file_id)
        try:
            os.link(src, dest)
        except FileExistsError:
            pass
        except FileNotFoundError:
            raise
        except OSError:  # no hard links on this filesystem
            with open(src, "rb") as fh, atomic_writer(dest) as out:
                shutil.copyfileobj(fh, out)
        return dest

    def unpin_input(self, batch_id: str) -> None:
        self.input_copy_path(batch_id).unlink(missing_ok=True)

    def journal_path(self, batch_id: str) -> Path:
        if not ids.is_batch_id(batch_id):
            raise ValueError(f"invalid batch id {batch_id!r}")
        return self.batches_dir / f"{batch_id}.partial.jsonl"
