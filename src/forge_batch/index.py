"""The request index: every planned request as (key, stage, spec), rendered once per command.

Rendering a request (prompt, canonical JSON, sha256) is the costly part of
planning, and every command needs the keys: prepare to classify them, build
to find the responses, status to count them. A command builds one
``RequestIndex`` and hands it to each step (``run`` shares one across all its
rounds), so a request is rendered at most once per command.

Prepare stores the keys of the planned stages (the seeds) in
``batches/.request-index`` (version fb-index/1) with a fingerprint of what they
depend on (forge.toml, the tools file, the key format); a later command whose
inputs did not change reads the keys instead of rendering: status renders none.
Specs of stages planned from accepted samples, with their keys, come from the
accepted record (``accepted.py``).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import orjson

from . import __version__, keys
from .config import Config
from .fsio import atomic_writer
from .stages import STAGES, Request, Stage
from .tools import ToolSet

VERSION = b"fb-index/1"
FILE = ".request-index"


# Where the project lives is not an input: a copied or moved project keeps its index.
# Real files are fingerprinted by content where they matter (accepted.Chain).
_NOT_INPUTS = frozenset({"path", "paths", "real"})


def inputs_fingerprint(config: Config, toolset: ToolSet) -> str:
    """What every planned key depends on: the settings, the tools, the key format, the code."""
    h = hashlib.sha256(b"\0".join([__version__.encode(), keys.TAG.encode()]))
    settings = {f.name: getattr(config, f.name) for f in fields(config)}
    settings = {k: v for k, v in settings.items() if k not in _NOT_INPUTS}
    h.update(orjson.dumps(settings, default=str, option=orjson.OPT_SORT_KEYS))
    with contextlib.suppress(OSError):
        h.update(Path(toolset.path).read_bytes())
    h.update(orjson.dumps([t.export_name for t in toolset.tools]))
    return h.hexdigest()


class RequestIndex:
    """The requests of one command, each rendered at most once (tests/test_architecture.py
    counts the renders: one per request per command, none for status)."""

    def __init__(self, config: Config, toolset: ToolSet) -> None:
        self.config, self.toolset = config, toolset
        self.fingerprint = inputs_fingerprint(config, toolset)
        self._planned: dict[str, list[tuple[str, Any]]] = {}  # stage -> [(key, spec)]
        self._keys: dict[str, dict[Any, str]] = {s.name: {} for s in STAGES}  # spec -> key
        self._stored_keys: dict[str, list[str]] | None = None

    # -- rendering -------------------------------------------------------------------------

    def render(self, stage: Stage, spec: Any, lean: Any = None) -> Request:
        """Render one request (and remember its key, by ``lean``: ``stage.lean(spec)``
        when the caller holds it already)."""
        if isinstance(spec, Later):  # a stored key's spec: the plan is made only now
            spec = self.entries(stage)[spec.position][1]
        req = stage.render(spec, self.config, self.toolset)
        if stage.inputs:  # by its lean form (``Stage.lean``): a digest, not the spec
            self._keys[stage.name][stage.lean(spec) if lean is None else lean] = req.key
        return req

    def remember(self, stage: Stage, spec: Any, key: str) -> None:
        """A key known without rendering (from the accepted record)."""
        self._keys[stage.name][stage.lean(spec)] = key

    def known(self, stage: Stage, spec: Any) -> bool:
        """Whether the key of ``spec`` (whole or lean) is known without rendering."""
        return stage.lean(spec) in self._keys[stage.name]

    def key(self, stage: Stage, spec: Any) -> str:
        """The key of a spec planned from an accepted sample (whole: it may be rendered)."""
        known = self._keys[stage.name].get(stage.lean(spec))
        return known if known is not None else self.render(stage, spec).key

    # -- planned stages (no inputs) ------------------------------------------------------

    def requests(self, stage: Stage) -> Iterator[tuple[Any, Request | None]]:
        """(spec, request) of every planned request of ``stage`` in plan order.

        A request has no body (``canonical`` empty) when its key is already known
        (rendered earlier in this command, or stored by an earlier prepare): ask
        ``render`` for it. A stored key comes with a ``Later`` for its spec, so a
        prepare that writes nothing does not even make the plan.
        """
        limit = stage.max_tokens(self.config)
        known = self._planned.get(stage.name)
        if known is not None:
            for key, spec in known:
                yield spec, Request(stage.name, key, b"", limit)
            return
        stored = self._stored().get(stage.name)
        if stored is not None:
            for i, key in enumerate(stored):
                yield Later(i), Request(stage.name, key, b"", limit)
            return
        entries: list[tuple[str, Any]] = []
        for spec in stage.plan(self.config, self.toolset):
            req = self.render(stage, spec)
            entries.append((req.key, spec))
            yield spec, req
        self._planned[stage.name] = entries

    def entries(self, stage: Stage) -> list[tuple[str, Any]]:
        """(key, spec) of every planned request of ``stage``."""
        if stage.name not in self._planned and not self._load(stage):
            for _ in self.requests(stage):
                pass
        return self._planned[stage.name]

    def keys(self, stage: Stage) -> list[str]:
        """The keys of every planned request of ``stage`` (stored ones need no plan)."""
        if stage.name in self._planned:
            return [key for key, _ in self._planned[stage.name]]
        stored = self._stored().get(stage.name)
        return stored if stored is not None else [key for key, _ in self.entries(stage)]

    def planned_stages(self) -> tuple[Stage, ...]:
        return tuple(s for s in STAGES if not s.inputs)

    # -- the stored keys -----------------------------------------------------------------

    def _stored(self) -> dict[str, list[str]]:
        if self._stored_keys is None:
            found = read_stored(self.config.paths.batches, self.fingerprint)
            self._stored_keys = found or {}
        return self._stored_keys

    def _load(self, stage: Stage) -> bool:
        """Pair the stored keys of ``stage`` with its plan; False when there are none."""
        keys_ = self._stored().get(stage.name)
        if keys_ is None:
            return False
        specs = list(stage.plan(self.config, self.toolset))
        if len(specs) != len(keys_):
            return False
        self._planned[stage.name] = list(zip(keys_, specs, strict=True))
        return True

    def store(self) -> None:
        """Keep the keys of the planned stages for later commands (when they changed)."""
        stages = self.planned_stages()
        if all(s.name in self._stored() for s in stages):
            return  # read from what is stored: nothing new to keep
        if not all(s.name in self._planned for s in stages):
            return
        folder = self.config.paths.batches
        if not folder.is_dir():  # nothing prepared here: nothing to speed up
            return
        stored = read_stored(folder, self.fingerprint)
        if stored is not None and all(
            [k for k, _ in self._planned[s.name]] == stored.get(s.name) for s in stages
        ):
            return
        planned = {s.name: [k for k, _ in self._planned[s.name]] for s in stages}
        write_stored(folder, self.fingerprint, planned)


@dataclass(frozen=True, slots=True)
class Later:
    """The spec of the ``position``-th planned request, made only if it is needed."""

    position: int


def write_stored(folder: Path, fingerprint: str, planned: dict[str, list[str]]) -> None:
    """batches/.request-index: a JSON header line, then each stage's keys, fixed width."""
    head = {"version": VERSION.decode(), "fingerprint": fingerprint}
    head["stages"] = {name: len(ks) for name, ks in planned.items()}
    with atomic_writer(folder / FILE) as fh:
        fh.write(orjson.dumps(head) + b"\n")
        for ks in planned.values():
            fh.write("".join(ks).encode())


def read_stored(folder: Path, fingerprint: str) -> dict[str, list[str]] | None:
    """The stored keys when their fingerprint is ``fingerprint``, else None."""
    try:
        data = (folder / FILE).read_bytes()
        head_bytes, _, body = data.partition(b"\n")
        head = orjson.loads(head_bytes)
    except (OSError, orjson.JSONDecodeError):
        return None
    if not isinstance(head, dict) or head.get("version") != VERSION.decode():
        return None
    if head.get("fingerprint") != fingerprint:
        return None
    out: dict[str, list[str]] = {}
    text, pos = body.decode("ascii", "replace"), 0
    for name, count in head.get("stages", {}).items():
        end = pos + count * keys.KEY_LENGTH
        run = keys.split_run(text[pos:end])
        if run is None or len(run) != count:
            return None
        out[name], pos = run, end
    return out if pos == len(text) else None


def key_chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Items in lists of ``size`` (one cache query per list)."""
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
