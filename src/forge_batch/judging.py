"""Judging: parse -> checks -> dedup for every response of every stage, in precedence order.

Both the build (which writes the dataset) and prepare (which must know the
accepted seeds to plan their paraphrases when the accepted record is stale)
run these passes; neither imports the other. ``Judge`` decides one sample
(checks, then dedup) and counts it in the build's ``Stats``; ``Passes`` runs
the real data, then each stage over its requests with their cached responses,
spooling accepted samples and planning the next stages from them.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

from . import checks, dedup
from .accepted import Chain, Record
from .cache import Cached
from .config import Config
from .index import RequestIndex, key_chunks
from .keyset import KeySet
from .ledger import Failure
from .real import real_samples
from .records import Reject, Sample
from .spool import Spool, spool
from .stages import STAGES, Stage, consumers
from .stats import Stats
from .tools import ToolSet

# Responses read from the cache per query, and parents read back from the spool per
# step. A parsed sample holds its tools' full schemas (~35 KB of objects), so this
# bounds a transient that allocator fragmentation then keeps in the peak RSS: at 100k
# responses, 100 instead of 500 lowers the build's peak by ~20 MB at the same speed.
READ_CHUNK = 100
ARG_CHECKS = frozenset({"json", "tool", "required", "unknown_args", "schema"})


def missing(
    stats: Stats,
    stage: Stage,
    key: str,
    scenario: str,
    failures: dict[str, tuple[int, Failure, bool]],
    in_flight: KeySet,
) -> Reject | None:
    """Count a request with no cached response: pending, or given up (then its reject)."""
    info = failures.get(key)
    if info and info[2]:
        attempts, last, _ = info
        stats.update("given_up", stage.name, reason=last.reason)
        return Reject(
            stage.reject_id(key),
            key,
            stage.name,
            scenario,
            "request_failed",
            f"{last.reason} after {attempts} attempt(s): {last.message}"[:500],
        )
    stats.update("pending", stage.name, in_flight=key in in_flight, retrying=info is not None)
    return None


class Judge:
    """Checks and dedup of one sample at a time, counted in ``stats``."""

    def __init__(
        self,
        config: Config,
        toolset: ToolSet,
        failures: dict[str, tuple[int, Failure, bool]],
        in_flight: KeySet | None = None,
        stats: Stats | None = None,
    ) -> None:
        self.config, self.toolset, self.failures = config, toolset, failures
        self.in_flight = in_flight or KeySet()
        self.ctx = checks.CheckContext.build(
            grounding=config.checks.grounding, min_text_chars=config.checks.min_text_chars
        )
        d = config.dedup
        self.deduper = dedup.Deduper(
            threshold=d.threshold, shingles=d.shingles, num_perm=d.num_perm
        )
        self.stats = stats if stats is not None else Stats()

    def missing(self, stage: Stage, key: str, scenario: str) -> Reject | None:
        """A request with no cached response: pending, or given up (a reject)."""
        return missing(self.stats, stage, key, scenario, self.failures, self.in_flight)

    def judge(self, sample: Sample) -> Reject | None:
        """Checks, then dedup; None means the sample is accepted (and indexed)."""
        failure = checks.check_sample(sample, self.ctx)
        has_calls = any(m.get("tool_calls") for m in sample.messages)
        if has_calls and (failure is None or failure[0] in ARG_CHECKS):
            self.stats.update("argument", passed=failure is None)
        if failure:
            return self._reject(sample, *failure)
        first = self.deduper.check_and_add(sample.id, "\n".join(sample.user_texts()))
        self.stats.update("dedup", duplicate=first is not None)
        if first is not None:
            return self._reject(sample, "duplicate", f"duplicate of {first}")
        return None

    @staticmethod
    def _reject(sample: Sample, check: str, reason: str) -> Reject:
        key = sample.meta.get("request_key")
        return Reject(
            sample.id, key, sample.source, sample.scenario, check, reason, sample.to_json()
        )

    def response(
        self, stage: Stage, spec: Any, key: str, cached: Cached | None, parent: Sample | None
    ) -> tuple[list[Sample], list[Reject]]:
        """One request of ``stage``: the samples it yielded that passed, and the rejects."""
        self.stats.update("planned", stage.name)
        scenario = stage.scenario(spec)
        if cached is None:
            rej = self.missing(stage, key, scenario)
            return [], [rej] if rej else []
        self.stats.update("cached", stage.name)
        parsed = stage.parse(spec, key, cached, parent, self.config, self.toolset)
        meta = parsed.meta
        self.stats.update("usage", usage=meta.get("usage"), finish_reason=meta.get("finish_reason"))
        if parsed.failure:
            return [], [Reject(stage.reject_id(key), key, stage.name, scenario, *parsed.failure)]
        self.stats.update("parsed", stage.name)
        self.stats.update("samples", stage.name, n=len(parsed.samples))
        kept, rejects = [], []
        for sample in parsed.samples:
            rej = self.judge(sample)
            if rej is None:
                kept.append(sample)
            else:
                rejects.append(rej)
        return kept, rejects


Outcome = tuple[Sample | None, list[tuple[Sample, int]], list[Reject]]


class Passes:
    """Real data, then each stage in registry order, judged against one dedup index.

    Accepted samples go to the spool (``offsets``); each one plans the requests of
    the stages that consume it (``record.planned``, with keys from ``index``).
    ``chain`` fingerprints what was seen, so the record says what it was decided from.
    """

    def __init__(
        self,
        judge: Judge,
        index: RequestIndex,
        cache: Any,
        spool: Spool,
        reject: Callable[[Reject], None] | None = None,
        known: Record | None = None,
    ) -> None:
        self.judge, self.index, self.cache, self.spool = judge, index, cache, spool
        self.reject = reject or (lambda rej: None)
        self.chain = Chain(index.fingerprint, judge.config)
        self.record = Record()
        self.known = known  # an earlier record: keys of specs it planned need no rendering
        self.parents: dict[str, list[int]] = {}  # consumer stage -> parent offset per spec

    def real(self) -> Iterator[tuple[Sample, int]]:
        """Accepted real samples with their spool offsets (rejects go to ``reject``)."""
        for sample in real_samples(self.judge.config.real):
            rej = self.judge.judge(sample)
            if rej is None:
                yield sample, self.spool.put(sample)
            else:
                self.reject(rej)

    def stage(self, stage: Stage) -> Iterator[Outcome]:
        """Each request of ``stage``: (parent, accepted (sample, offset), rejects)."""
        config = self.judge.config
        if stage.inputs:
            if self.known is not None and self.known.valid_for(stage, self.chain):
                for key, spec in self.known.planned.get(stage.name, []):
                    self.index.remember(stage, spec, key)
            planned = self.record.planned[stage.name]
            planned[:] = [(self.index.key(stage, spec), spec) for _, spec in planned]
            parents = self.parents.get(stage.name, [])
            items: Iterator[tuple[str, Any, int | None]] = (
                (key, spec, off) for (key, spec), off in zip(planned, parents, strict=True)
            )
        else:
            items = ((key, spec, None) for key, spec in self.index.entries(stage))
        users = [c for c in consumers(stage.name) if c.enabled(config)]
        for chunk in key_chunks(items, READ_CHUNK):
            found = self.cache.get_many([key for key, _, _ in chunk])
            loaded = {
                off: Sample.from_json(orjson.loads(self.spool.get(off)))
                for _, _, off in chunk
                if off is not None
            }
            for key, spec, off in chunk:
                cached = found.get(key)
                if cached is not None:
                    self.chain.cached(key)
                parent = loaded.get(off) if off is not None else None
                kept, rejects = self.judge.response(stage, spec, key, cached, parent)
                accepted = []
                for sample in kept:
                    offset = self.spool.put(sample)
                    accepted.append((sample, offset))
                    for user in users:
                        self.plan(user, sample, offset)
                yield parent, accepted, rejects
        self.chain.close(stage.name)
        self.record.fingerprints[stage.name] = self.chain.at[stage.name]

    def length(self, stage: Stage) -> int:
        """How many requests ``stage`` has (for progress bars)."""
        if stage.inputs:
            return len(self.record.planned[stage.name])
        return len(self.index.entries(stage))

    def plan(self, user: Stage, sample: Sample, offset: int) -> None:
        """Plan ``user``'s request from an accepted sample."""
        spec = user.spec_for(sample, self.judge.config)
        if spec is not None:
            self.record.planned[user.name].append(("", spec))
            self.parents.setdefault(user.name, []).append(offset)


def judge_until(
    stage: Stage,
    index: RequestIndex,
    cache: Any,
    failures: dict[str, tuple[int, Failure, bool]],
    in_flight: KeySet | None = None,
) -> Record:
    """Judge real data and every stage before ``stage`` (nothing is written).

    The record says what ``stage`` plans from the samples they accept now; its
    keys are rendered (once, through ``index``) for the specs of ``stage``.
    """
    config = index.config
    judge = Judge(config, index.toolset, failures, in_flight)
    with tempfile.TemporaryDirectory(prefix="forge-batch-") as tmp, spool(Path(tmp)) as scratch:
        passes = Passes(judge, index, cache, scratch)
        for _ in passes.real():
            pass
        for before in STAGES[: STAGES.index(stage)]:
            if before.enabled(config):
                for _ in passes.stage(before):
                    pass
    return passes.record
