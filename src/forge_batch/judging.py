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

from . import dedup
from .accepted import Chain, Record
from .config import Config
from .examine import Examined, Examiner, Judged
from .index import RequestIndex, key_chunks
from .keyset import KeySet
from .ledger import Failure
from .real import real_records
from .records import Reject, Sample
from .spool import Spool, spool
from .stages import BY_NAME, JUDGE, STAGES, Stage
from .stats import Stats
from .tools import ToolSet

# Responses read from the cache per query, and parents read back from the spool per
# step (one task for the examiner). A parsed sample holds its tools' full schemas
# (~35 KB of objects), so this bounds a transient that allocator fragmentation then
# keeps in the peak RSS: at 100k responses, 100 instead of 500 lowers the build's
# peak by ~20 MB at the same speed.
READ_CHUNK = 100
ARG_CHECKS = frozenset({"json", "tool", "required", "unknown_args", "schema"})


def missing(
    stats: Stats,
    stage: Stage,
    key: str,
    scenario: str,
    failures: dict[str, tuple[int, Failure, bool]],
    in_flight: KeySet,
    spec: Any = None,
) -> Reject | None:
    """Count a request with no cached response: pending, or given up (then its reject,
    ``stage.given_up`` of ``spec``; without a spec, a request_failed reject)."""
    info = failures.get(key)
    if info and info[2]:
        attempts, last, _ = info
        stats.update("given_up", stage.name, reason=last.reason)
        reason = f"{last.reason} after {attempts} attempt(s): {last.message}"[:500]
        if spec is not None:
            return stage.given_up(spec, key, reason)
        return Reject(stage.reject_id(key), key, stage.name, scenario, "request_failed", reason)
    stats.update("pending", stage.name, in_flight=key in in_flight, retrying=info is not None)
    return None


class Judge:
    """Decides examined samples in order (checks' verdict, then dedup), counted in ``stats``."""

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
        d = config.dedup
        self.deduper = dedup.Deduper(
            threshold=d.threshold, shingles=d.shingles, num_perm=d.num_perm
        )
        self.examiner = Examiner(config, toolset, self.deduper)
        self.stats = stats if stats is not None else Stats()

    def missing(self, stage: Stage, key: str, scenario: str, spec: Any = None) -> Reject | None:
        """A request with no cached response: pending, or given up (a reject)."""
        return missing(self.stats, stage, key, scenario, self.failures, self.in_flight, spec)

    def judge(self, sample: Sample) -> Reject | None:
        """Checks, then dedup; None means the sample is accepted (and indexed)."""
        return self.decide(self.examiner.sample(sample))

    def decide(self, item: Judged) -> Reject | None:
        """The verdict on an examined sample; None: accepted (and indexed for dedup)."""
        failure = item.failure
        if item.has_calls and (failure is None or failure[0] in ARG_CHECKS):
            self.stats.update("argument", passed=failure is None)
        if failure:
            return self._reject(item, *failure)
        assert item.print is not None
        first = self.deduper.check_and_add_print(item.id, item.print)
        self.stats.update("dedup", duplicate=first is not None)
        if first is not None:
            return self._reject(item, "duplicate", f"duplicate of {first}")
        return None

    @staticmethod
    def _reject(item: Judged, check: str, reason: str) -> Reject:
        return Reject(item.id, item.key, item.source, item.scenario, check, reason, item.data())

    def response(
        self, stage: Stage, spec: Any, key: str, examined: Examined | None
    ) -> tuple[list[Judged], list[Reject]]:
        """One request of ``stage``: the samples it yielded that passed, and the rejects."""
        self.stats.update("planned", stage.name)
        scenario = stage.scenario(spec)
        if examined is None:
            rej = self.missing(stage, key, scenario, spec)
            if rej is not None and stage.verdict:
                self.stats.update("verdict", found=None)
            return [], [rej] if rej else []
        self.stats.update("cached", stage.name)
        meta = examined.meta
        self.stats.update("usage", usage=meta.get("usage"), finish_reason=meta.get("finish_reason"))
        if stage.verdict:  # the graded sample itself: kept, or rejected; no rules again
            found = meta.get("verdict")
            self.stats.update("verdict", found=found)
            if found is not None:
                self.stats.update("parsed", stage.name)
                self.stats.update("samples", stage.name)
            if examined.failure:
                return [], [stage.reject(spec, key, examined.failure)]
            return examined.samples, []
        if examined.failure:
            return [], [stage.reject(spec, key, examined.failure)]
        self.stats.update("parsed", stage.name)
        self.stats.update("samples", stage.name, n=len(examined.samples))
        kept, rejects = [], []
        for item in examined.samples:
            rej = self.decide(item)
            if rej is None:
                kept.append(item)
            else:
                rejects.append(rej)
        return kept, rejects


Outcome = tuple[Judged | None, list[tuple[Judged, int]], list[Reject]]


class Passes:
    """Real data, then each stage in registry order, judged against one dedup index.

    Accepted samples go to the spool; each one plans the requests of the stages
    that consume it (``record.planned``, with keys from ``index``). ``chain``
    fingerprints what was seen, so the record says what it was decided from.
    Parsing and checks run in ``judge.examiner`` (worker processes for big
    stages); decisions, the spool and the counters stay here, in order.
    """

    def __init__(
        self,
        judge: Judge,
        index: RequestIndex,
        cache: Any,
        spool: Spool,
        reject: Callable[[Reject], None] | None = None,
        known: Record | None = None,
        lean: bool = False,
    ) -> None:
        self.judge, self.index, self.cache, self.spool = judge, index, cache, spool
        self.reject = reject or (lambda rej: None)
        self.chain = Chain(index.fingerprint, judge.config)
        self.record = Record()
        self.known = known  # an earlier record: keys of specs it planned need no rendering
        self.parents: dict[str, list[int]] = {}  # consumer stage -> parent offset per spec
        self.held: set[str] = set()  # ids of accepted samples awaiting their verdict
        # the build's: planned specs held as ``Stage.lean`` makes them (a digest and the
        # offset of the spec's JSON in the spool: memory flat in the number of planned
        # requests), filled back a chunk at a time; the record is written with ``write_record``
        self.lean = lean

    def real(self) -> Iterator[tuple[Judged, int]]:
        """Accepted real samples with their spool offsets (rejects go to ``reject``).

        The judge grades real records too (an unlabelled one on whether its calls
        fit the request alone)."""
        config = self.judge.config
        users = [JUDGE] if JUDGE.enabled(config) else []
        for sample, labelled in real_records(config.real):
            item = self.judge.examiner.sample(sample, users, labelled=labelled)
            rej = self.judge.decide(item)
            if rej is None:
                offset = self.spool.put_line(item.line)
                self._plan_all(item, offset)
                yield item, offset
            else:
                self.reject(rej)

    def _plan_all(self, item: Judged, offset: int) -> None:
        """Plan what an accepted sample plans; one the judge grades is held until then."""
        for name, spec in item.plans.items():
            self.plan(name, item, offset, spec)
        if JUDGE.name in item.plans:
            if item.plans[JUDGE.name] is None:  # scope "doubtful", nothing doubted
                self.judge.stats.update("verdict", unjudged=True)
            else:
                self.held.add(item.id)

    def _items(self, stage: Stage) -> list[tuple[str, Any, int | None]]:
        if not stage.inputs:
            return [(key, spec, None) for key, spec in self.index.entries(stage)]
        if self.known is not None and self.known.valid_for(stage, self.chain):
            for key, spec in self.known.planned.pop(stage.name, []):
                self.index.remember(stage, spec, key)  # the record's copy is not kept
        planned = self.record.planned[stage.name]
        planned[:] = [(self._key(stage, spec), spec) for _, spec in planned]
        parents = self.parents.get(stage.name, [])
        return [(key, spec, off) for (key, spec), off in zip(planned, parents, strict=True)]

    def _key(self, stage: Stage, spec: Any) -> str:
        """The key of a planned spec; a lean one is rendered whole (the index keeps it lean)."""
        if not self.lean or self.index.known(stage, spec):
            return self.index.key(stage, spec)
        return self.index.render(stage, stage.filled(spec, self.spool), spec).key

    def _fill(self, stage: Stage, spec: Any) -> Any:
        return stage.filled(spec, self.spool)

    def write_record(self, out: Path) -> None:
        """The accepted record (``accepted.Record.write``), lean specs filled from the spool."""
        self.record.write(out, self._fill if self.lean else None)

    def _tasks(
        self, stage: Stage, chunks: list[list[tuple[str, Any, int | None]]]
    ) -> Iterator[list[tuple[Any, ...]]]:
        """Each chunk's (spec, key, cached response, parent line): one cache query each."""
        for chunk in chunks:
            found = self.cache.get_many([key for key, _, _ in chunk])
            lines = [None if off is None else self.spool.get(off) for _, _, off in chunk]
            if self.lean:  # whole for this chunk only (``stage`` empties it once done)
                chunk[:] = [(key, stage.filled(spec, self.spool), off) for key, spec, off in chunk]
            yield [
                (spec, key, found.get(key), line)
                for (key, spec, _), line in zip(chunk, lines, strict=True)
            ]

    def stage(self, stage: Stage) -> Iterator[Outcome]:
        """Each request of ``stage``: (parent, accepted (sample, offset), rejects)."""
        items = self._items(stage)
        chunks = list(key_chunks(items, READ_CHUNK))
        results = self.judge.examiner.map_responses(stage, self._tasks(stage, chunks), len(items))
        for chunk, examined in zip(chunks, results, strict=True):
            for (key, spec, _), one in zip(chunk, examined, strict=True):
                if one is not None:
                    self.chain.cached(key)
                parent = _parent(one)
                kept, rejects = self.judge.response(stage, spec, key, one)
                accepted = []
                for item in kept:
                    offset = self.spool.put_line(item.line)
                    accepted.append((item, offset))
                    self._plan_all(item, offset)
                yield parent, accepted, rejects
            chunk.clear()  # its filled specs (``lean``)
        self.judge.examiner.close()  # its workers, if this stage started them
        self.chain.close(stage.name)
        self.record.fingerprints[stage.name] = self.chain.at[stage.name]

    def length(self, stage: Stage) -> int:
        """How many requests ``stage`` has (for progress bars)."""
        if stage.inputs:
            return len(self.record.planned[stage.name])
        return len(self.index.entries(stage))

    def plan(self, user: str, item: Judged, offset: int, spec: Any) -> None:
        """Plan ``user``'s request (``spec``) from an accepted sample."""
        if spec is not None:
            if self.lean:
                spec = BY_NAME[user].lean(spec, self.spool)
            self.record.planned[user].append(("", spec))
            self.parents.setdefault(user, []).append(offset)

    def close(self) -> None:
        self.judge.examiner.close()


def _parent(one: Examined | None) -> Judged | None:
    """The parent of a response as the merge needs it: its id and user turns."""
    if one is None or one.parent is None:
        return None
    pid, texts = one.parent
    return Judged(pid, "", "", None, None, texts, b"", None, False, None)


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
        try:
            for _ in passes.real():
                pass
            for before in STAGES[: STAGES.index(stage)]:
                if before.enabled(config):
                    for _ in passes.stage(before):
                        pass
        finally:
            passes.close()
    return passes.record
