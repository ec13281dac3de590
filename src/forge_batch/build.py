"""From cached responses to out/dataset.jsonl, out/rejects.jsonl and the report.

The passes run in precedence order, so "first wins" means real > seed > paraphrase:
real files, then every stage in registry order (``judging.Passes``: parse ->
checks -> dedup; accepted samples go to a spool file, every drop to rejects
with its check). Samples of a synthetic stage (paraphrases) are candidates:
the merge picks the ones to keep under the cap, and one last pass over the
spool writes the dataset. Memory holds the dedup index and a small record per
candidate, never the samples themselves. The same cache and config give a
byte-identical dataset.

The build also keeps what it decided for later commands: the accepted record
(``accepted.py``: what prepare plans the next stages from) and its stats
(``stats.py``: what status shows), both in out/.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from . import accepted, merge, progress, stats
from .cache import ReadOnlyCache, ResponseCache
from .config import Config
from .examine import Judged
from .fsio import atomic_writer, remove_stale_temps
from .index import RequestIndex
from .judging import Judge, Passes
from .ledger import State, in_flight_keys
from .real import check_real
from .records import Reject
from .report import write_report
from .spool import spool
from .stages import STAGES, Stage
from .stats import Stats
from .tools import ToolSet, project_tools

__all__ = ["BuildResult", "build", "check_real", "write_report"]


@dataclass(slots=True)
class BuildResult:
    stats: Stats
    dataset: Path
    rejects: Path
    report: list[Path] = field(default_factory=list)
    kept: dict[str, int] = field(default_factory=dict)  # by source
    dropped_cache_entries: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.kept.values())


class _Assembly:
    """One build's working state: what is kept (by spool offset) and what is not.

    Everything large lives here and is freed with it, before the report is drawn.
    """

    def __init__(self, passes: Passes, rejects: Any) -> None:
        self.passes, self._rejects = passes, rejects
        self.spool = passes.spool
        self.stats = passes.judge.stats
        # (id, offset, source, scenario, tool), sorted at the end: the dataset pass
        # copies lines without parsing them
        self.keep: list[tuple[str, int, str, str, str | None]] = []
        self.base: dict[str, int] = {}  # non-synthetic kept samples per scenario
        self.candidates: dict[str, list[merge.Candidate]] = {}  # per synthetic stage
        self.offsets: dict[str, tuple[int, str | None]] = {}  # candidate id -> (offset, tool)
        self.synthetic = {s.name for s in STAGES if s.synthetic}
        # per (synthetic stage, parent id): the parent's user text, in pass order, and its
        # rewrites that passed, as (id, scenario, text) (with the judge on, once it kept them)
        self.groups: dict[tuple[str, str], str] = {}
        self.members: dict[tuple[str, str], list[tuple[str, str, str]]] = {}

    def reject(self, rej: Reject) -> None:
        self.stats.update("reject", rej.source, check=rej.check)
        self._rejects.write(orjson.dumps(rej.to_json()) + b"\n")

    def _accept(self, sample: Judged, offset: int) -> None:
        self.keep.append((sample.id, offset, sample.source, sample.scenario, sample.tool))
        self.base[sample.scenario] = self.base.get(sample.scenario, 0) + 1

    def real(self) -> None:
        for sample, offset in self.passes.real():
            if sample.id not in self.passes.held:  # else: kept once the judge says so
                self._accept(sample, offset)

    def stage(self, stage: Stage, length: int) -> None:
        label = f"checking {stage.name}s"
        outcomes = progress.track(self.passes.stage(stage), label, length=length)
        held = self.passes.held
        for parent, kept, rejects in outcomes:
            for rej in rejects:
                self.reject(rej)
            if stage.verdict:  # the judge: what it kept joins the dataset (or the cap's pool)
                for sample, offset in kept:
                    self._kept(sample, offset)
                continue
            if stage.synthetic and kept:
                assert parent is not None, "a synthetic stage rewrites an accepted sample"
                self.groups.setdefault((stage.name, parent.id), "\n".join(parent.texts))
            for sample, offset in kept:
                if sample.id not in held:
                    self._kept(sample, offset)

    def _kept(self, sample: Judged, offset: int) -> None:
        """A sample that passed every check (and the judge, when it is on)."""
        if sample.source not in self.synthetic:
            self._accept(sample, offset)
            return
        item = (sample.id, sample.scenario, "\n".join(sample.texts))
        self.members.setdefault((sample.source, sample.parent or ""), []).append(item)
        self.offsets[sample.id] = (offset, sample.tool)

    def select(self, cap: float) -> None:
        """Keep the candidates the cap allows (by diversity); reject the others."""
        for (source, parent), seed_text in self.groups.items():
            texts = self.members.get((source, parent), [])
            self.candidates.setdefault(source, []).extend(
                merge.candidates(parent, seed_text, texts)
            )
        self.members.clear()
        for source, pool in self.candidates.items():
            chosen = set(merge.select(pool, self.base, cap))
            for cand in pool:
                offset, tool = self.offsets[cand.id]
                if cand.id in chosen:
                    self.keep.append((cand.id, offset, source, cand.scenario, tool))
                    continue
                data = orjson.loads(self.spool.get(offset))
                reason = f"over the synthetic cap of {cap:g}"
                key = data["meta"].get("request_key")
                self.reject(
                    Reject(cand.id, key, source, cand.scenario, "synthetic_cap", reason, data)
                )

    def write(self, fh: Any, result: BuildResult) -> None:
        """The dataset in id order (mixes scenarios and sources for trainers)."""
        self.keep.sort()
        for _, offset, source, scenario, tool in self.keep:
            fh.write(self.spool.get(offset))
            result.kept[source] = result.kept.get(source, 0) + 1
            self.stats.update("kept", scenario=scenario, tool=tool, source=source)


def build(
    config: Config,
    toolset: ToolSet | None = None,
    *,
    write: bool = True,
    index: RequestIndex | None = None,
) -> BuildResult:
    """Rebuild out/dataset.jsonl, out/rejects.jsonl and the report from the cache.

    With ``write=False`` nothing is written (a dry run for the benchmarks).
    ``index`` is the command's request index (a new one when None).
    """
    check_real(config)
    toolset = toolset or project_tools(config)
    index = index or RequestIndex(config, toolset)
    out = config.paths.out
    if write:
        remove_stale_temps(out)  # a killed build's spool and half-written files
    state = State(config.paths.batches)
    failures = state.failure_summary(config.engine.max_attempts)
    result = BuildResult(Stats(), out / "dataset.jsonl", out / "rejects.jsonl")
    with (
        ResponseCache(config.paths.cache) if write else ReadOnlyCache(config.paths.cache) as cache,
        spool(out if write else None) as scratch,
        atomic_writer(result.rejects) if write else open(os.devnull, "wb") as rej_fh,
    ):
        judge = Judge(
            config, toolset, failures, in_flight_keys(state, sent_only=True), result.stats
        )
        passes = Passes(
            judge, index, cache, scratch, known=accepted.read(out, lean=True), lean=True
        )
        run = _Assembly(passes, rej_fh)
        passes.reject = run.reject
        try:
            run.real()
            for stage in STAGES:
                if stage.enabled(config):
                    run.stage(stage, passes.length(stage))
        finally:
            passes.close()  # the worker processes, if a stage was big enough for them
        run.select(config.synthetic_cap)
        with atomic_writer(result.dataset) if write else open(os.devnull, "wb") as fh:
            run.write(fh, result)
        result.dropped_cache_entries = list(cache.dropped)
        del run, judge  # the dedup index and selection go before the chart is drawn
        if write:  # while the spool is open: its lean judge specs are filled from it
            passes.write_record(out)
        del passes
    if write:
        index.store()
        summary = {"kept": dict(sorted(result.kept.items()))}
        stats.store(out, result.stats, summary)
        result.report = write_report(out, result.stats, config)
    return result
