"""status: where every planned request is, as a versioned JSON document.

Contract fb-status/1 (``forge-batch status --json``; tests pin its keys):

    {"version": "fb-status/1", "config": <path>, "engine": "local"|"openai",
     "stages": {"seed"|"paraphrase": {
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

``accounting.tokens`` (added within fb-status/1, backward compatible): usage of
the cached responses; ``reasoning`` is part of ``completion``;
``truncated_by_reasoning`` counts answers cut off because reasoning used the
output budget.

Request counts: planned = cached + pending + failed, per stage; in_flight and
retrying are parts of pending; failed means given up (rejected as
request_failed). Sample counts are what a collect would build now.
Nothing is written.
"""

from __future__ import annotations

from typing import Any

from . import build
from .config import Config
from .ledger import State

VERSION = "fb-status/1"


def status(config: Config) -> dict[str, Any]:
    built = build.build(config, write=False)
    stats = built.stats
    state = State(config.paths.batches)
    stages = {}
    for name, st in stats.stages.items():
        stages[name] = {
            "planned": st.planned,
            "cached": st.cached,
            "pending": st.pending,
            "in_flight": st.in_flight,
            "retrying": st.retrying,
            "failed": st.given_up,
            "failed_reasons": dict(sorted(st.failed_reasons.items())),
            "samples": st.samples,
            "accepted": st.accepted,
            "rejected": st.rejected,
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
            "samples": built.total,
            "by_source": dict(sorted(built.kept.items())),
            "rejects_by_check": dict(sorted(stats.rejects.items())),
            "path": str(built.dataset),
            "rejects": str(built.rejects),
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
                "prompt": stats.prompt_tokens,
                "completion": stats.completion_tokens,
                "reasoning": stats.reasoning_tokens,
                "truncated_by_reasoning": stats.truncated_by_reasoning,
            },
        },
    }
