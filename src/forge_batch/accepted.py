"""The accepted record: what later stages plan from the samples earlier stages accepted.

Which seeds pass the checks and dedup is decided by judging their responses;
the build decides it anyway, so it records the outcome in
``out/.accepted.jsonl`` (version fb-accepted/1) and a later prepare plans the
paraphrases from the record instead of judging every seed response again.

Line 1 is a header ``{"version", "fingerprints": {stage: hex}}``; every other
line is ``[stage, key, spec]``: a request of ``stage`` planned from an accepted
sample, its key and its spec (``Stage.to_json``), in planning order.

A record is only as good as what it was decided from: the fingerprint of a
stage chains the settings, the tools, the real files and the keys of every
cached response of that stage and the ones before it. A consumer stage's lines
are used only when the fingerprint of the stage just before it matches what
the current command sees; otherwise the caller judges again.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from .config import Config
from .fsio import atomic_writer
from .stages import BY_NAME, STAGES, Stage

VERSION = "fb-accepted/1"
FILE = ".accepted.jsonl"


class Chain:
    """The fingerprint chain: base inputs, then each stage's cached keys in order."""

    def __init__(self, inputs: str, config: Config) -> None:
        self._h = hashlib.sha256(VERSION.encode() + inputs.encode())
        for path in config.real:  # streamed: a curated file may be larger than memory allows
            with contextlib.suppress(OSError), open(path, "rb") as fh:
                self._h.update(hashlib.file_digest(fh, "sha256").digest())
        self.at: dict[str, str] = {}  # stage -> fingerprint after it

    def cached(self, key: str) -> None:
        self._h.update(key.encode())

    def close(self, stage: str) -> str:
        self._h.update(b"|" + stage.encode())
        self.at[stage] = self._h.hexdigest()
        return self.at[stage]


def previous(stage: Stage) -> str | None:
    """Name of the stage just before ``stage`` in the registry."""
    names = [s.name for s in STAGES]
    i = names.index(stage.name)
    return names[i - 1] if i else None


class Record:
    """The specs (and keys) planned from accepted samples, per consumer stage."""

    def __init__(self, fingerprints: dict[str, str] | None = None) -> None:
        self.fingerprints: dict[str, str] = dict(fingerprints or {})
        self.planned: dict[str, list[tuple[str, Any]]] = {s.name: [] for s in STAGES if s.inputs}

    def valid_for(self, stage: Stage, chain: Chain) -> bool:
        """True when ``stage``'s lines were decided from what ``chain`` has seen so far."""
        before = previous(stage)
        return before is not None and self.fingerprints.get(before) == chain.at.get(before)

    def write(self, out: Path, fill: Callable[[Stage, Any], Any] | None = None) -> None:
        """Write the record; ``fill(stage, spec)`` makes a spec whole when the build held
        it lean (``Stage.lean``)."""
        head = {"version": VERSION, "fingerprints": self.fingerprints}
        out.mkdir(parents=True, exist_ok=True)
        with atomic_writer(out / FILE) as fh:
            fh.write(orjson.dumps(head) + b"\n")
            for name, items in self.planned.items():
                stage = BY_NAME[name]
                for key, spec in items:
                    if fill is not None:
                        spec = fill(stage, spec)
                    fh.write(orjson.dumps([name, key, stage.to_json(spec)]) + b"\n")


def read(out: Path, lean: bool = False) -> Record | None:
    """The stored record, or None when it is missing or unreadable.

    ``lean``: its specs as ``Stage.lean`` makes them (the build needs only their keys)."""
    try:
        with open(out / FILE, "rb") as fh:
            head = orjson.loads(fh.readline())
            if not isinstance(head, dict) or head.get("version") != VERSION:
                return None
            record = Record(head["fingerprints"])
            for line in fh:
                name, key, spec = orjson.loads(line)
                stage = BY_NAME[name]
                spec = stage.from_json(spec)
                record.planned[name].append((key, stage.lean(spec) if lean else spec))
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None
    return record
