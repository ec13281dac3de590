"""The keys this project sent, read from its shards once: ``batches/.sent-keys``.

``collect --import`` matches each result line to the requests written into the
shards of the manifest. Learning those keys meant reading every shard (~100 MB
at 10k planned requests, ~25% of an import) once per imported file, and an
import is one file. This file keeps each shard's keys beside the stat of the
shard they were read from (device, inode, size, mtime, ctime) and the
manifest's name and sha256 for it.

A kept entry is used only while all of that still matches; anything else
(a shard edited, replaced, deleted, renamed in the manifest, this file
damaged or of another version) means reading the shard, as before. An entry
is kept only when the shard's stat was the same before and after the read and
its ctime was at least ``SETTLE_NS`` old when the read began: a write in the
same clock tick as the read could leave size and times unchanged (git's "racy
clean" case), but any write after that moves ctime, which no user call sets.
Only keys of the project's own fixed format are kept; a shard holding any
other custom_id is read every time.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from . import keys
from .errors import DiskFullError
from .fsio import atomic_writer
from .shards import ShardInfo, read_keys

VERSION = "fb-sentkeys/1"
FILE = ".sent-keys"
SETTLE_NS = 2_000_000_000

Stat = tuple[int, int, int, int, int]


def _stat(path: Path) -> Stat | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def read_file(folder: Path) -> dict[tuple[str, str], tuple[Stat, list[str]]]:
    """(file, sha256) -> (stat, keys) of what is kept; empty when unreadable."""
    try:
        data = (folder / FILE).read_bytes()
        head_bytes, _, body = data.partition(b"\n")
        head = orjson.loads(head_bytes)
        text = body.decode("ascii")
    except (OSError, orjson.JSONDecodeError, UnicodeDecodeError):
        return {}
    if not isinstance(head, dict) or head.get("version") != VERSION:
        return {}
    out: dict[tuple[str, str], tuple[Stat, list[str]]] = {}
    pos = 0
    try:
        for entry in head["shards"]:
            end = pos + entry["count"] * keys.KEY_LENGTH
            run = keys.split_run(text[pos:end]) if end > pos else []
            stat = tuple(entry["stat"])
            if run is None or len(run) != entry["count"] or len(stat) != 5:
                return {}
            out[(entry["file"], entry["sha256"])] = (stat, run)  # type: ignore[assignment]
            pos = end
    except (KeyError, TypeError):
        return {}
    return out if pos == len(text) else {}


def write_file(folder: Path, kept: dict[tuple[str, str], tuple[Stat, list[str]]]) -> None:
    """Replace ``batches/.sent-keys``: a JSON header line, then the keys back to back."""
    head: dict[str, Any] = {"version": VERSION, "shards": []}
    for (file, sha), (stat, ks) in kept.items():
        head["shards"].append({"file": file, "sha256": sha, "stat": stat, "count": len(ks)})
    with atomic_writer(folder / FILE) as fh:
        fh.write(orjson.dumps(head) + b"\n")
        for _, ks in kept.values():
            fh.write("".join(ks).encode("ascii"))


def _keepable(ks: list[str]) -> bool:
    return all(len(k) == keys.KEY_LENGTH for k in ks) and (
        not ks or keys.split_run("".join(ks)) is not None
    )


def sent_keys(folder: Path, shards: Iterable[ShardInfo]) -> set[str]:
    """Every key of the shards in ``shards`` that exist, from the kept file where it holds.

    Updates ``batches/.sent-keys`` when it changed (the caller holds the project
    lock). Failing to write it costs only the next command's speed: it is not reported.
    """
    kept = read_file(folder)
    now: dict[tuple[str, str], tuple[Stat, list[str]]] = {}
    sent: set[str] = set()
    for info in shards:
        path = folder / info.file
        ident = (info.file, info.sha256)
        before = _stat(path)
        if before is None:
            continue  # deleted: nothing of it was sent from here
        known = kept.get(ident)
        if known is not None and known[0] == before:
            sent.update(known[1])
            now[ident] = known
            continue
        began = time.time_ns()
        ks = list(read_keys(path))
        sent.update(ks)
        settled = began - before[4] >= SETTLE_NS
        if settled and _stat(path) == before and _keepable(ks):
            now[ident] = (before, ks)
    if now != kept:
        with contextlib.suppress(OSError, DiskFullError):
            write_file(folder, now)
    return sent
