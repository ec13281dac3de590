"""status: where every planned request is, as a versioned JSON document.

Contract fb-status/2 (``forge-batch status --json``; tests pin its keys):

    {"version": "fb-status/2", "config": <path>, "engine": "local"|"openai",
     "stages": {<stage name: seed, paraphrase, judge>: {
         "planned", "cached", "pending", "in_flight", "retrying", "failed",
         "failed_reasons": {reason: n}, "samples", "accepted", "rejected"}},
     "dataset": {"samples", "by_source": {source: n}, "rejects_by_check": {check: n},
                 "path", "rejects", "report"},
     "batches": [{"file", "stage", "lines", "state", "batch_id", "status",
                  "request_counts"}],
     "unsubmitted": [shard file names],
     "accounting": {"planned", "answered", "pending", "failed", "balanced",
                    "tokens": {"prompt", "completion", "reasoning",
                               "truncated_by_reasoning"}}}

fb-status/2 (was fb-status/1) adds the ``judge`` stage, counted like the others:
one request per sample judged; a judge request given up rejects its sample as
``judge_failed``; its ``samples`` are complete verdicts, ``accepted`` the samples
the judge kept (the synthetic cap may still drop a paraphrase after), ``rejected``
those rejected as ``judge`` or ``judge_failed``. A sample whose judge request is
pending is neither kept nor rejected. The accounting sums all three stages.
Readers of fb-status/1 that iterate ``stages`` see one more entry; nothing else
changed.

``accounting.tokens`` (added within fb-status/1, backward compatible): usage of
the cached responses the last build read; ``reasoning`` is part of ``completion``;
``truncated_by_reasoning`` counts answers cut off because reasoning used the
output budget.

Request counts: planned = cached + pending + failed, per stage; in_flight and
retrying are parts of pending; failed means given up (rejected as
request_failed). They are read now, from the ledger and the cache, for the
keys of the request index (stored by prepare: status renders nothing while
forge.toml and the tools are unchanged) and of the accepted record.

Sample counts ("samples", "accepted", "rejected", the "dataset" section and
``accounting.tokens``) are
those of the last build (collect or run), as it stored them in
out/.build-stats.json: what out/dataset.jsonl holds. Before any build they are 0.
Status never builds. It judges only when the accepted record no longer matches
the cached responses (a collect killed before its build): then the requests
planned from accepted samples are what judging them now gives.
Nothing is written.
"""

from __future__ import annotations

from typing import Any

from . import accepted, stats
from .accepted import Chain
from .cache import ReadOnlyCache
from .config import Config
from .index import RequestIndex, key_chunks
from .judging import judge_until, missing
from .ledger import State, in_flight_keys
from .real import check_real
from .stages import STAGES, Stage
from .stats import StageStats, Stats
from .tools import project_tools

VERSION = "fb-status/2"
QUERY = 5000  # keys per cache query batch


class _Counter:
    """Request counts of each stage, from the index, the record, the ledger and the cache."""

    def __init__(self, config: Config, index: RequestIndex, cache: ReadOnlyCache) -> None:
        self.config, self.index, self.cache = config, index, cache
        self.state = State(config.paths.batches)
        self.failures = self.state.failure_summary(config.engine.max_attempts)
        self.in_flight = in_flight_keys(self.state, sent_only=True)
        self.chain = Chain(index.fingerprint, config)
        self.record = accepted.read(config.paths.out)
        self.counts = Stats()
        self.answered = 0  # cached responses counted so far (none: nothing accepted yet)

    def keys(self, stage: Stage) -> list[str]:
        if not stage.inputs:
            return self.index.keys(stage)
        if not stage.enabled(self.config):
            return []
        if not self.answered and not (stage.verdict and self.config.real):
            return []  # no input has a response: nothing can be accepted (real ones aside)
        record = self.record
        if record is None or not record.valid_for(stage, self.chain):
            record = self._judged(stage)
        return [key for key, _ in record.planned.get(stage.name, [])]

    def _judged(self, stage: Stage) -> accepted.Record:
        record = judge_until(stage, self.index, self.cache, self.failures, self.in_flight)
        planned = record.planned[stage.name]
        planned[:] = [(self.index.key(stage, spec), spec) for _, spec in planned]
        return record

    def count(self, stage: Stage) -> None:
        name, failures = stage.name, self.failures
        for chunk in key_chunks(self.keys(stage), QUERY):
            found = self.cache.valid_many(chunk)
            flying = self.in_flight.contains_many(chunk)
            plain = cached = 0  # plain: pending, never failed, not in flight
            for key, fly in zip(chunk, flying, strict=True):
                if key in found:
                    self.chain.cached(key)
                    cached += 1
                elif fly or key in failures:
                    missing(self.counts, stage, key, "", failures, self.in_flight)
                else:
                    plain += 1
            self.counts.update("planned", name, n=len(chunk))
            self.counts.update("cached", name, n=cached)
            self.counts.update("pending", name, n=plain)
            self.answered += cached
        self.chain.close(name)


def _stage_json(now: StageStats, built: StageStats) -> dict[str, Any]:
    return {
        "planned": now.planned,
        "cached": now.cached,
        "pending": now.pending,
        "in_flight": now.in_flight,
        "retrying": now.retrying,
        "failed": now.given_up,
        "failed_reasons": dict(sorted(now.failed_reasons.items())),
        "samples": built.samples,
        "accepted": built.accepted,
        "rejected": built.rejected,
    }


def status(config: Config, index: RequestIndex | None = None) -> dict[str, Any]:
    check_real(config)
    index = index or RequestIndex(config, project_tools(config))
    with ReadOnlyCache(config.paths.cache) as cache:
        counter = _Counter(config, index, cache)
        for stage in STAGES:
            counter.count(stage)
    now, state = counter.counts, counter.state
    last = stats.load(config.paths.out)
    built, summary = last if last is not None else (Stats(), {"kept": {}})
    stages = {
        name: _stage_json(st, built.stages.get(name, StageStats()))
        for name, st in now.stages.items()
    }
    planned = sum(s["planned"] for s in stages.values())
    answered = sum(s["cached"] for s in stages.values())
    pending = sum(s["pending"] for s in stages.values())
    failed = sum(s["failed"] for s in stages.values())
    out = config.paths.out
    return {
        "version": VERSION,
        "config": str(config.path),
        "engine": config.engine.kind,
        "stages": stages,
        "dataset": {
            "samples": sum(summary["kept"].values()),
            "by_source": dict(sorted(summary["kept"].items())),
            "rejects_by_check": dict(sorted(built.rejects.items())),
            "path": str(out / "dataset.jsonl"),
            "rejects": str(out / "rejects.jsonl"),
            "report": str(out / "report.md") if (out / "report.md").exists() else None,
        },
        "batches": [
            {
                "file": r.file,
                "stage": r.stage,
                "lines": r.lines,
                "state": r.state,
                "batch_id": r.batch_id,
                "status": r.status,
                "request_counts": r.request_counts,
            }
            for r in sorted(state.ledger.values(), key=lambda r: r.file)
        ],
        "unsubmitted": [s.file for s in state.unsubmitted()],
        "accounting": {
            "planned": planned,
            "answered": answered,
            "pending": pending,
            "failed": failed,
            "balanced": planned == answered + pending + failed,
            "tokens": {
                "prompt": built.prompt_tokens,
                "completion": built.completion_tokens,
                "reasoning": built.reasoning_tokens,
                "truncated_by_reasoning": built.truncated_by_reasoning,
            },
        },
    }
