"""The pure half of judging: parse a response, run the checks, fingerprint for dedup.

Everything here depends on one response (and its parent sample) alone, so it
can run in worker processes while the main process keeps what must stay in
order: dedup's "first wins", the spool, the counters (``judging.py``). A
chunk's results come back in order, so the build is byte-identical whether it
runs here or in a pool of two (``Examiner``: both cores, when the work is big
enough to pay for the processes).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from . import checks, dedup
from .cache import Cached
from .config import Config
from .records import Sample
from .stages import BY_NAME, Stage, consumers
from .stages import judge as judge_stage
from .tools import ToolSet

# Requests per task sent to a worker, tasks in flight per worker, and the least
# requests of a stage worth starting workers for (forking costs ~0.1 s).
TASK = 100
AHEAD = 2
MIN_PARALLEL = 2000


@dataclass(slots=True)
class Judged:
    """One parsed sample, examined: what the main process needs to decide and keep it."""

    id: str
    source: str
    scenario: str
    key: str | None  # the request key it came from (None for real data)
    tool: str | None  # meta.tool: what the report counts it under
    texts: list[str]  # its user turns (dedup and the merge compare them)
    line: bytes  # the dataset line (orjson of Sample.to_json(), newline-terminated)
    failure: tuple[str, str] | None  # the first check that failed
    has_calls: bool
    print: dedup.Print | None  # the dedup fingerprint (None when a check failed)
    plans: dict[str, Any] = field(default_factory=dict)  # consumer stage -> spec it plans
    parent: str | None = None  # meta.parent: the sample a rewrite rewrites

    def data(self) -> dict[str, Any]:
        """The sample as a JSON object (for a reject record)."""
        return orjson.loads(self.line)


@dataclass(slots=True)
class Examined:
    """One response, examined."""

    meta: dict[str, Any]  # usage and finish_reason (for the counters)
    failure: tuple[str, str] | None  # why the response gave no sample
    samples: list[Judged]
    parent: tuple[str, list[str]] | None = None  # the parent sample's id and user turns


class Examiner:
    """Examines samples and responses; ``map_responses`` uses both cores for big stages."""

    def __init__(self, config: Config, toolset: ToolSet, deduper: dedup.Deduper) -> None:
        self.config, self.toolset, self.deduper = config, toolset, deduper
        self.ctx = checks.CheckContext.build(
            grounding=config.checks.grounding,
            min_text_chars=config.checks.min_text_chars,
            judge=config.judge.enabled,  # on: what the rules doubt goes to the judge stage
        )
        self._pool: Any = None

    def sample(
        self,
        sample: Sample,
        users: Iterable[Stage] = (),
        seed: Sample | None = None,
        labelled: bool = True,
    ) -> Judged:
        """Checks and the dedup fingerprint of one sample, and what it would plan.

        With the judge on, the rules' doubts are not failures: they go into the
        judge's spec (with ``seed``, the sample a rewrite rewrites, and ``labelled``:
        whether a real record names its scenario)."""
        doubts: tuple[str, ...] = ()
        if self.ctx.judge:
            assessed = checks.assess(sample, self.ctx)
            failure, doubts = assessed.failure, assessed.doubts
        else:
            failure = checks.check_sample(sample, self.ctx)
        texts = sample.user_texts()
        plans: dict[str, Any] = {}
        for u in users if not failure else ():
            if u.verdict:
                ok = judge_stage.wanted(self.config, doubts)
                plans[u.name] = judge_stage.spec_of(sample, doubts, seed, labelled) if ok else None
            else:
                plans[u.name] = u.spec_for(sample, self.config)
        fingerprint = None if failure else self.deduper.fingerprint("\n".join(texts))
        return _judged(sample, texts, failure, fingerprint, plans)

    def graded(self, sample: Sample) -> Judged:
        """A sample a verdict stage kept: already checked and deduplicated, not again."""
        return _judged(sample, sample.user_texts(), None, None, {})

    def response(
        self, stage: Stage, spec: Any, key: str, cached: Cached, parent: bytes | None
    ) -> Examined:
        """Parse one cached response of ``stage`` and examine its samples."""
        config, toolset = self.config, self.toolset
        mother = Sample.from_json(orjson.loads(parent)) if parent is not None else None
        parsed = stage.parse(spec, key, cached, mother, config, toolset)
        meta = {k: parsed.meta.get(k) for k in ("usage", "finish_reason", "verdict")}
        family = (mother.id, mother.user_texts()) if mother is not None else None
        if parsed.failure:
            return Examined(meta, parsed.failure, [], family)
        if stage.verdict:
            return Examined(meta, None, [self.graded(s) for s in parsed.samples], family)
        users = [u for u in consumers(stage.name) if u.enabled(config)]
        seed = mother if stage.synthetic else None
        samples = [self.sample(s, users, seed) for s in parsed.samples]
        return Examined(meta, None, samples, family)

    def chunk(self, stage_name: str, items: list[tuple[Any, ...]]) -> list[Examined | None]:
        """Examine (spec, key, cached or None, parent line or None) items in order."""
        stage = BY_NAME[stage_name]
        return [
            None if cached is None else self.response(stage, spec, key, cached, parent)
            for spec, key, cached, parent in items
        ]

    def map_responses(
        self, stage: Stage, tasks: Iterator[list[tuple[Any, ...]]], size: int
    ) -> Iterator[list[Examined | None]]:
        """``chunk`` of every task, in order; in worker processes when ``size`` is big.

        Only for stages without a parent: a rewrite of a parent would ship the
        parent's whole line (its tools' schemas) to a worker and two such lines
        back, which cost more than the work saved (bench/collect.py: the
        paraphrase pass ran at 1,148 responses/s in workers, 2,255 in process).
        """
        if size < MIN_PARALLEL or not _cores() > 1 or stage.inputs:
            for items in tasks:
                yield self.chunk(stage.name, items)
            return
        pool = self._workers()
        window: deque[Any] = deque()
        for items in tasks:  # read in this process; examined over there; kept in order
            window.append(pool.apply_async(_work, (stage.name, items)))
            if len(window) >= AHEAD * _cores():
                yield window.popleft().get()
        while window:
            yield window.popleft().get()

    def _workers(self) -> Any:
        if self._pool is None:
            global _EXAMINER
            _EXAMINER = self  # forked workers inherit it: nothing to pickle but the chunks
            self._pool = multiprocessing.get_context("fork").Pool(_cores())
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool.join()
            self._pool = None


_EXAMINER: Examiner | None = None


def _judged(
    sample: Sample,
    texts: list[str],
    failure: tuple[str, str] | None,
    fingerprint: dedup.Print | None,
    plans: dict[str, Any],
) -> Judged:
    meta = sample.meta or {}
    return Judged(
        sample.id,
        _label(sample.source),
        _label(sample.scenario),
        meta.get("request_key"),
        _label(meta.get("tool")),
        texts,
        orjson.dumps(sample.to_json()) + b"\n",
        failure,
        any(m.get("tool_calls") for m in sample.messages),
        fingerprint,
        plans,
        meta.get("parent"),
    )


def _label(value: Any) -> Any:
    """A source, scenario or tool name, interned: the build keeps one per kept sample and
    per synthetic candidate, and each parsed sample brings its own copy of a few names."""
    return sys.intern(value) if type(value) is str else value


def _work(stage_name: str, items: list[tuple[Any, ...]]) -> list[Examined | None]:
    assert _EXAMINER is not None
    return _EXAMINER.chunk(stage_name, items)


def _cores() -> int:
    """Cores this process may use (``FORGE_BATCH_WORKERS`` caps it; 1 = no workers)."""
    cap = os.environ.get("FORGE_BATCH_WORKERS")
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    n = n or 1
    return max(1, min(n, int(cap))) if cap and cap.isdigit() else n
