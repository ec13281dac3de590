"""What was written, what was submitted as which batch, and what failed.

Three files under ``batches/``, all written atomically (contracts, versioned):

* ``manifest.json`` (fb-manifest/1): every shard file prepare wrote and that
  still matters: name, stage, model, lines, bytes, sha256.
* ``ledger.json`` (fb-ledger/1): per shard, the submission steps
  (uploading -> uploaded -> submitted -> collected; "queued" before them while
  [engine] enqueued_token_limit leaves no room, or the API refused its batch
  for the enqueued-token cap; "withdrawn" when ``cancel`` took a queued shard
  back before any batch ran it: its requests are pending again and the next
  ``prepare`` writes them anew) with file id, batch id and
  the batch's last known state. It is saved after every step, so a crash
  anywhere is recovered from it without creating a second batch. A shard is
  identified by its file name *and* content hash: a later shard may hold the
  very same lines (one request resent after a failure), and it is a new
  submission. Entries are keyed by the content hash, or ``<hash>:<file>`` when
  an earlier shard already holds that key.
* ``failures/<batch id>.jsonl`` (fb-failure/1): one line per request that came
  back failed from that batch, with its reason; written once, when collected.
  A file taken by ``collect --import`` is an attempt too: its failures go to
  ``failures/import-<digest>.jsonl`` (collect.import_id).

A lock file keeps two forge-batch processes from changing them at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import orjson

from .errors import StateError
from .fsio import atomic_write, remove_stale_temps
from .keyset import KeySet
from .shards import ShardInfo, read_keys

MANIFEST_VERSION = "fb-manifest/1"
LEDGER_VERSION = "fb-ledger/1"
FAILURE_VERSION = "fb-failure/1"
TERMINAL = frozenset({"completed", "expired", "cancelled", "failed"})
# Ledger states of a shard that is done with: nothing of it is or will be in flight.
SETTLED = frozenset({"collected", "withdrawn"})
# HTTP statuses of a failed line that resending can fix.
RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


@dataclass(slots=True)
class ShardRecord:
    sha256: str
    file: str
    stage: str
    model: str
    lines: int
    bytes: int
    state: str = "uploading"  # (queued ->) uploading | uploaded | submitted | collected;
    # queued -> withdrawn (cancel)
    upload_name: str = ""
    file_id: str | None = None
    batch_id: str | None = None
    status: str | None = None  # the remote batch status
    request_counts: dict[str, int] | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    collected: dict[str, int] | None = None
    refused: list[str] = field(default_factory=list)  # batches failed token_limit_exceeded
    deleted: list[str] = field(default_factory=list)  # its files removed from the API storage

    @classmethod
    def of(cls, info: ShardInfo, **progress: Any) -> ShardRecord:
        """A ledger entry for a shard of the manifest, at the given step."""
        return cls(
            info.sha256, info.file, info.stage, info.model, info.lines, info.bytes, **progress
        )


@dataclass(frozen=True, slots=True)
class Failure:
    key: str
    batch_id: str
    reason: str  # short machine-friendly: "http_500", "batch_expired", "validation_failed"
    message: str
    retryable: bool


def _load_json(path: Path, version: str) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        data = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise StateError(
            f"not valid JSON ({exc}); restore it or remove it to start over", path=path
        ) from None
    if not isinstance(data, dict) or data.get("version") != version:
        raise StateError(
            f"expected version {version!r}, found {data.get('version')!r}"
            if isinstance(data, dict)
            else "expected a JSON object",
            path=path,
        )
    return data


class State:
    """manifest + ledger + failures of one project's batches folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.manifest_path = folder / "manifest.json"
        self.ledger_path = folder / "ledger.json"
        self.failures_dir = folder / "failures"
        manifest = _load_json(self.manifest_path, MANIFEST_VERSION) or {"shards": []}
        ledger = _load_json(self.ledger_path, LEDGER_VERSION) or {"shards": {}}
        try:
            self.manifest = [ShardInfo(**s) for s in manifest["shards"]]
        except (TypeError, KeyError) as exc:
            raise StateError(f"malformed shard entry: {exc}", path=self.manifest_path) from None
        names = {f.name for f in fields(ShardRecord)}
        try:
            self.ledger = {
                sha: ShardRecord(**{k: v for k, v in rec.items() if k in names})
                for sha, rec in ledger["shards"].items()
            }
        except (TypeError, KeyError, AttributeError) as exc:
            raise StateError(f"malformed ledger entry: {exc}", path=self.ledger_path) from None

    # -- manifest --------------------------------------------------------------
    def save_manifest(self) -> None:
        data = {"version": MANIFEST_VERSION, "shards": [asdict(s) for s in self.manifest]}
        atomic_write(self.manifest_path, orjson.dumps(data, option=orjson.OPT_INDENT_2))

    def unsubmitted(self) -> list[ShardInfo]:
        """Shards prepare wrote that no submit has touched (safe to rewrite)."""
        done = {(rec.file, rec.sha256) for rec in self.ledger.values()}
        return [s for s in self.manifest if (s.file, s.sha256) not in done]

    # -- ledger ----------------------------------------------------------------
    def save_ledger(self) -> None:
        data = {
            "version": LEDGER_VERSION,
            "shards": {sha: asdict(rec) for sha, rec in sorted(self.ledger.items())},
        }
        atomic_write(self.ledger_path, orjson.dumps(data, option=orjson.OPT_INDENT_2))

    def in_flight(self) -> list[ShardRecord]:
        return [r for r in self.ledger.values() if r.state not in SETTLED]

    def record(self, file: str, sha: str) -> ShardRecord | None:
        """The entry of shard ``file`` with content ``sha`` (both must match)."""
        rec = self.ledger.get(sha)
        if rec is not None and rec.file == file:
            return rec
        return next((r for r in self.ledger.values() if r.file == file and r.sha256 == sha), None)

    def add(self, rec: ShardRecord) -> None:
        """Enter a new shard; same content as an earlier shard gets its own key."""
        key = rec.sha256 if rec.sha256 not in self.ledger else f"{rec.sha256}:{rec.file}"
        self.ledger[key] = rec

    # -- failures --------------------------------------------------------------
    def write_failures(self, batch_id: str, failures: list[Failure]) -> None:
        lines = b"".join(
            orjson.dumps({"version": FAILURE_VERSION, **asdict(f)}) + b"\n" for f in failures
        )
        atomic_write(self.failures_dir / f"{batch_id}.jsonl", lines)

    def iter_failures(self) -> Iterator[Failure]:
        if not self.failures_dir.is_dir():
            return
        for path in sorted(self.failures_dir.glob("*.jsonl")):
            with open(path, "rb") as fh:
                for n, line in enumerate(fh, 1):
                    try:
                        data = orjson.loads(line)
                        data.pop("version", None)
                        yield Failure(**data)
                    except (orjson.JSONDecodeError, TypeError) as exc:
                        raise StateError(
                            f"malformed failure record: {exc}", path=path, where=f"line {n}"
                        ) from None

    def failure_summary(self, max_attempts: int) -> dict[str, tuple[int, Failure, bool]]:
        """key -> (failed attempts, last failure, given up?)."""
        out: dict[str, tuple[int, Failure, bool]] = {}
        for f in self.iter_failures():
            count = out[f.key][0] + 1 if f.key in out else 1
            gave_up = count >= max_attempts or not f.retryable
            if f.key in out and out[f.key][2]:
                gave_up = True
            out[f.key] = (count, f, gave_up)
        return out


def in_flight_keys(state: State, *, sent_only: bool = False) -> KeySet:
    """Keys of every shard submitted (or being submitted) and not yet collected.

    prepare must skip all of them (a shard whose upload failed is still sent by
    the next submit, as it is). With ``sent_only``, only shards whose batch
    exists count: what status calls in flight. After a failed upload nothing
    is running, and saying "in flight" there sent people waiting for nothing.
    """

    def keys() -> Iterator[str]:
        for rec in state.in_flight():
            if sent_only and rec.state != "submitted":
                continue
            path = state.folder / rec.file
            if path.exists():
                yield from read_keys(path)

    return KeySet(keys())


def busy(folder: Path) -> bool:
    """True while a forge-batch command holds the project lock (a probe that writes nothing)."""
    try:
        fd = os.open(folder / ".lock", os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # also releases the probe's own lock
    return False


@contextlib.contextmanager
def project_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on the batches folder for the whole command.

    Every command that writes there holds it, so this is where the temporary
    files of a killed one (shards, ledger, failures, downloads) are removed.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ".lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StateError(
                "another forge-batch command is working in this project",
                path=folder,
                hint="wait for it to finish",
            ) from None
        for place in (folder, folder / "failures"):
            remove_stale_temps(place)
        yield
    finally:
        os.close(fd)
