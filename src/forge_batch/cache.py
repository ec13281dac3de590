"""The content-addressed response cache: request key -> response (diskcache).

A response is paid for once; whatever happens later (a crash, an edit, a
rerun), a request whose key is here is never sent again. Each entry carries a
checksum: a corrupted entry (truncated bytes, a bad disk) is detected on read,
dropped, and so becomes pending again instead of being parsed into a sample.
Every read also runs the ingest check on the body (response.check): an entry
that an older version cached without it, and that would crash a later command
(``"usage": "n/a"``, content nested 5,000 deep), is treated as corrupted too.

Entry format (version 1): b"FBC1" + blake2b-8 digest of the payload + payload,
where the payload is orjson of ``{"body": <chat.completion>, "batch_id": ...}``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import diskcache
import orjson

from . import response
from .errors import DiskFullError
from .fsio import disk_full_guard

MAGIC = b"FBC1"
DIGEST = 8
_CHUNK = 500  # keys per membership query (SQLite's variable limit is 999+)


@dataclass(frozen=True, slots=True)
class Cached:
    """One cached response: the chat.completion body and where it came from."""

    body: dict[str, Any]
    batch_id: str | None


def encode(body: dict[str, Any], batch_id: str | None) -> bytes:
    payload = orjson.dumps({"body": body, "batch_id": batch_id})
    return MAGIC + hashlib.blake2b(payload, digest_size=DIGEST).digest() + payload


def intact(raw: Any) -> bool:
    """True when ``raw`` is an entry whose checksum matches (what prepare needs to know)."""
    if not isinstance(raw, bytes) or len(raw) < len(MAGIC) + DIGEST or not raw.startswith(MAGIC):
        return False
    digest, payload = raw[len(MAGIC) : len(MAGIC) + DIGEST], raw[len(MAGIC) + DIGEST :]
    return hashlib.blake2b(payload, digest_size=DIGEST).digest() == digest


def decode(raw: Any) -> Cached | None:
    """The entry, or None when it is corrupted."""
    if not isinstance(raw, bytes) or len(raw) < len(MAGIC) + DIGEST or not raw.startswith(MAGIC):
        return None
    digest, payload = raw[len(MAGIC) : len(MAGIC) + DIGEST], raw[len(MAGIC) + DIGEST :]
    if hashlib.blake2b(payload, digest_size=DIGEST).digest() != digest:
        return None
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("body"), dict):
        return None
    return Cached(data["body"], data.get("batch_id"))


def load(raw: Any) -> Cached | None:
    """The entry with its body checked and normalized, or None when it is unusable.

    Every reader goes through this: a corrupted entry and one whose body fails
    response.check are the same to them (dropped, pending again).
    """
    entry = decode(raw)
    if entry is None:
        return None
    body, _ = response.check(entry.body, size=len(raw) - len(MAGIC) - DIGEST)
    return None if body is None else Cached(body, entry.batch_id)


# diskcache's tag of an entry whose body passed response.check when it was stored.
CHECKED = "checked"


def _usable(raw: Any, tag: Any) -> bool:
    """What ``load`` would say of an entry, cheaply: the checksum alone when its body
    was checked as it was stored (entries an older version stored get the full check)."""
    return intact(raw) if tag == CHECKED else load(raw) is not None


def _rows(execute: Callable[..., Any], columns: str, keys: list[str]) -> Iterator[tuple]:
    """Rows of diskcache's table for ``keys``, one query per 500 keys.

    diskcache has no bulk lookup; its table stores string keys as-is with
    raw=1, so one ``IN`` query per chunk is several times faster than ``in``.
    """
    for i in range(0, len(keys), _CHUNK):
        chunk = keys[i : i + _CHUNK]
        marks = ",".join("?" * len(chunk))
        yield from execute(
            f"SELECT {columns} FROM Cache WHERE raw = 1 AND key IN ({marks})", chunk
        ).fetchall()


def _fetch(disk: diskcache.Disk, mode: int, filename: str | None, value: Any) -> Any:
    """A stored value as diskcache would return it, or None when it cannot be read."""
    try:
        return disk.fetch(mode, filename, value, False)
    except (OSError, ValueError, EOFError, pickle.UnpicklingError):
        return None


def _no_space(folder: Path) -> bool:
    try:
        st = os.statvfs(folder)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < 1 << 16


@contextlib.contextmanager
def _full_disk(folder: Path) -> Iterator[None]:
    """A full disk under the cache is a DiskFullError, whichever way it shows:
    SQLite says "database or disk is full" (SQLITE_FULL), files say ENOSPC.
    A failed write transaction is rolled back, so nothing cached is lost."""
    try:
        with disk_full_guard(folder):
            yield
    except sqlite3.OperationalError as exc:
        name = getattr(exc, "sqlite_errorname", "")
        full = name == "SQLITE_FULL" or "is full" in str(exc)
        if not full and (name.startswith("SQLITE_IOERR") or "disk I/O error" in str(exc)):
            full = _no_space(folder)  # e.g. the -shm file cannot grow on a full disk
        if not full:
            raise
        raise DiskFullError(
            "no space left on device for the response cache",
            path=folder,
            hint="free some space and run the command again; cached responses are kept",
        ) from exc


def _entries(
    execute: Callable[..., Any],
    disk: diskcache.Disk,
    keys: list[str],
    corrupted: Callable[[str], None],
) -> dict[str, Cached]:
    """key -> decoded entry for the keys present; ``corrupted`` hears of the bad ones."""
    out: dict[str, Cached] = {}
    for key, mode, filename, value in _rows(execute, "key, mode, filename, value", keys):
        entry = load(_fetch(disk, mode, filename, value))
        if entry is None:
            corrupted(key)
        else:
            out[key] = entry
    return out


# Never evict (a paid response must not vanish), and keep SQLite's own memory
# small: diskcache's defaults (64 MB memory map, 8 MB page cache) cost ~70 MB of
# peak RSS in a 100k build for no speed (bench/collect.py). diskcache stores its
# settings in the database, so they are passed on every open.
SETTINGS: dict[str, Any] = {
    "size_limit": 2**62,
    "eviction_policy": "none",
    "sqlite_mmap_size": 0,
    "sqlite_cache_size": 256,
}


class ResponseCache:
    """A thin wrapper: bulk membership, checked reads, one transaction per batch of writes."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        with _full_disk(self.folder):
            self._cache = diskcache.Cache(str(self.folder), **SETTINGS)
        self.dropped: list[str] = []  # keys of corrupted entries removed on read

    def close(self) -> None:
        self._cache.close()

    def sync(self) -> None:
        """Make every committed write durable: checkpoint the write-ahead log.

        With SQLite's ``synchronous = NORMAL`` (diskcache's) a commit survives a
        killed process but is fsynced only at the next checkpoint, which syncs
        the log first (every 1,000 pages). collect calls this before the ledger
        records a batch as collected, so a power loss cannot keep the record and
        lose the responses (the API's copy may be deleted right after). A passive
        checkpoint may stop short while a reader (``status``) holds a snapshot, so
        the log itself is fsynced too: what it holds is replayed on open.
        """
        with _full_disk(self.folder):
            self._cache._sql("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            for name in ("cache.db-wal", "cache.db"):
                try:
                    fd = os.open(self.folder / name, os.O_RDONLY)
                except FileNotFoundError:
                    continue  # no log: everything is in cache.db
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        return len(self._cache)

    def __contains__(self, key: str) -> bool:
        return key in self._cache

    def contains_many(self, keys: list[str]) -> set[str]:
        """Which of ``keys`` are cached, in one query per 500 keys.

        diskcache has no bulk lookup; this reads its table directly (string
        keys are stored as-is with raw=1), several times faster than ``in``.
        """
        return {row[0] for row in _rows(self._cache._sql, "key", keys)}

    def valid_many(self, keys: list[str]) -> set[str]:
        """Which of ``keys`` hold a usable entry; corrupted or invalid ones are dropped.

        prepare classifies with this rather than ``contains_many``: a damaged
        entry counted as "paid for" would be neither usable nor sent again.
        Values are read straight from diskcache's table (one query per 500
        keys); each is checked as build will read it (``load``).
        """
        found: set[str] = set()
        for key, mode, filename, value, tag in _rows(
            self._cache._sql, "key, mode, filename, value, tag", keys
        ):
            if _usable(_fetch(self._cache.disk, mode, filename, value), tag):
                found.add(key)
            else:
                self._cache.delete(key, retry=True)
                self.dropped.append(key)
        return found

    def get(self, key: str) -> Cached | None:
        """The cached response, or None (a corrupted or invalid entry is dropped)."""
        raw = self._cache.get(key, default=None, retry=True)
        if raw is None:
            return None
        entry = load(raw)
        if entry is None:
            self._cache.delete(key, retry=True)
            self.dropped.append(key)
        return entry

    def get_many(self, keys: list[str]) -> dict[str, Cached]:
        """The intact entries among ``keys`` (corrupted ones are dropped), few queries."""
        return _entries(self._cache._sql, self._cache.disk, keys, self._drop)

    def _drop(self, key: str) -> None:
        self._cache.delete(key, retry=True)
        self.dropped.append(key)

    def put_many(
        self, items: Iterable[tuple[str, dict[str, Any], str | None]], *, checked: bool = False
    ) -> int:
        """Store (key, body, batch_id) items in one transaction; return how many.

        ``checked``: every body passed response.check (collect's classify), so a
        later membership test needs only the checksum (see ``valid_many``).
        """
        n = 0
        tag = CHECKED if checked else None
        with _full_disk(self.folder), self._cache.transact(retry=True):
            for key, body, batch_id in items:
                self._cache.set(key, encode(body, batch_id), retry=True, tag=tag)
                n += 1
        return n

    def put_raw(self, key: str, raw: bytes) -> None:
        """Store raw bytes (tests use it to plant a corrupted entry)."""
        self._cache.set(key, raw, retry=True)

    def iterkeys(self) -> Iterator[str]:
        return (k for k in self._cache.iterkeys() if isinstance(k, str))


class ReadOnlyCache:
    """The cache's read side without touching its files (for status).

    diskcache writes its settings table whenever it opens; this reads the same
    SQLite table through a read-only connection instead, and values kept in
    files through diskcache's own Disk reader. A missing folder reads as empty.
    A corrupted entry reads as missing (it is dropped by the next write-mode open).
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.dropped: list[str] = []
        db = self.folder / "cache.db"
        # With no WAL file present the database is complete on disk: open it as
        # immutable, so SQLite creates no -wal/-shm files. While another process
        # writes (a WAL exists), read through the WAL like any other reader.
        wal = db.with_name(db.name + "-wal").exists()
        uri = f"file:{db}?mode=ro" + ("" if wal else "&immutable=1")
        self._con = sqlite3.connect(uri, uri=True, check_same_thread=False) if db.exists() else None
        self._disk = diskcache.Disk(str(self.folder))

    def close(self) -> None:
        if self._con is not None:
            self._con.close()

    def __enter__(self) -> ReadOnlyCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        if self._con is None:
            return 0
        return int(self._con.execute("SELECT COUNT(*) FROM Cache").fetchone()[0])

    def __contains__(self, key: str) -> bool:
        return bool(self.contains_many([key]))

    def contains_many(self, keys: list[str]) -> set[str]:
        if self._con is None:
            return set()
        return {row[0] for row in _rows(self._con.execute, "key", keys)}

    def get_many(self, keys: list[str]) -> dict[str, Cached]:
        if self._con is None:
            return {}
        return _entries(self._con.execute, self._disk, keys, self.dropped.append)

    def valid_many(self, keys: list[str]) -> set[str]:
        """Which of ``keys`` hold a usable entry (as ``load`` reads it; nothing is dropped)."""
        if self._con is None:
            return set()
        rows = _rows(self._con.execute, "key, mode, filename, value, tag", keys)
        return {key for key, *raw, tag in rows if _usable(_fetch(self._disk, *raw), tag)}

    def get(self, key: str) -> Cached | None:
        if self._con is None:
            return None
        row = self._con.execute(
            "SELECT mode, filename, value FROM Cache WHERE raw = 1 AND key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        entry = load(_fetch(self._disk, *row))
        if entry is None:
            self.dropped.append(key)
        return entry
