"""The running counters of a build: what the report draws and what status shows.

Build fills one ``Stats`` as it judges samples; ``report`` only renders it and
``status`` reads the copy the last build stored (``out/.build-stats.json``,
version fb-build-stats/2), so neither has to build again to count.
Every counter changes through ``Stats.update``: one place to read what a
counter means and when it moves.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import orjson

from . import reasoning, response
from .fsio import atomic_write

STORED_VERSION = "fb-build-stats/2"  # /2: the judge's counts (``Stats.judge``)
STORED_NAME = ".build-stats.json"


@dataclass(slots=True)
class StageStats:
    """Counts for one stage, filled by build as it goes."""

    planned: int = 0  # requests the plan asks for
    cached: int = 0  # responses in the cache (the parse-rate denominator)
    pending: int = 0  # not answered yet: unsent or in flight
    in_flight: int = 0  # ... of which in a batch not yet collected
    retrying: int = 0  # ... of which failed before and will be sent again
    given_up: int = 0  # failed max_attempts times; rejected as request_failed
    parsed: int = 0  # responses that parsed into at least one sample
    samples: int = 0  # samples parsed
    accepted: int = 0
    rejected: int = 0
    failed_reasons: dict[str, int] = field(default_factory=dict)  # given-up requests by reason


JUDGE_STAGE = "judge"
JUDGE_CHECKS = ("judge", "judge_failed")
BINS = 10  # judge score histogram: [0, 0.1), ..., [0.9, 1.0]
# The QC gates of the users' pipeline (seed 001, section 4): the report judges a run
# by them and the chart draws the judge-score bound.
PARSE_MIN, SCHEMA_MIN, DUP_MAX, JUDGE_MEAN_MIN = 0.98, 0.95, 0.05, 0.8
REASON_KEYS = 10_000  # distinct judge reasons counted; later new ones count as "(other)"


@dataclass(slots=True)
class JudgeStats:
    """What the judge said, counted per verdict read (the report's judge section)."""

    hist: list[int] = field(default_factory=lambda: [0] * BINS)  # complete verdicts by score
    score_sum: float = 0.0
    judged: int = 0  # complete verdicts
    kept: int = 0  # ... that kept their sample
    rejected: int = 0  # ... that rejected it (check "judge")
    failed: int = 0  # samples rejected as judge_failed (given up or unusable verdict)
    unjudged: int = 0  # samples kept without a request (scope "doubtful", no doubt)
    kinds: dict[str, int] = field(default_factory=dict)  # failure kind -> rejected samples
    reasons: dict[str, int] = field(default_factory=dict)  # judge's reason of rejected samples

    def add(self, score: float, kinds: list[str], reason: str) -> None:
        """One complete verdict; ``kinds`` empty means the sample was kept."""
        self.judged += 1
        self.score_sum += score
        self.hist[min(BINS - 1, max(0, int(score * BINS)))] += 1
        if not kinds:
            self.kept += 1
            return
        self.rejected += 1
        for kind in kinds:
            self.kinds[kind] = self.kinds.get(kind, 0) + 1
        text = " ".join(reason.split())[:120] or "(no reason given)"
        if text not in self.reasons and len(self.reasons) >= REASON_KEYS:
            text = "(other)"
        self.reasons[text] = self.reasons.get(text, 0) + 1

    @property
    def mean(self) -> float | None:
        return self.score_sum / self.judged if self.judged else None


def _stage_names() -> tuple[str, ...]:
    from .stages import NAMES  # the registry; stats only needs their names

    return NAMES


@dataclass(slots=True)
class Stats:
    """Everything the report (and status) shows; build fills it in one pass."""

    stages: dict[str, StageStats] = field(
        default_factory=lambda: {s: StageStats() for s in _stage_names()}
    )
    rejects: dict[str, int] = field(default_factory=dict)  # check -> dropped samples/responses
    kept: dict[tuple[str, str | None, str], int] = field(
        default_factory=dict
    )  # (scenario, tool, source) -> samples in the dataset
    arg_checked: int = 0  # samples with calls that reached the argument checks
    arg_passed: int = 0  # ... and passed json/tool/required/unknown_args/schema
    dup_candidates: int = 0  # samples that passed every other check
    duplicates: int = 0  # ... and were dropped as (near-)duplicates
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int | None = None  # cached prompt tokens, None when the API did not say
    reasoning_tokens: int = 0  # part of completion_tokens (reasoning models)
    usage_missing: int = 0  # cached responses whose usage gave no token counts (not in the sums)
    truncated: int = 0  # responses with finish_reason "length"
    truncated_by_reasoning: int = 0  # ... whose reasoning used at least 80% of the output
    judge: JudgeStats = field(default_factory=JudgeStats)

    def update(self, event: str, stage: str | None = None, n: int = 1, **what: Any) -> None:
        """Count one event. ``stage`` names the stage for per-stage events.

        Events: planned, cached, parsed, samples (n), accepted, rejected (per
        stage); pending (in_flight=, retrying=), given_up (reason=) (per stage);
        reject (check=, stage= when a stage's sample); usage (usage=, finish_reason=);
        verdict (found= (score, failure kinds, reason) of a complete verdict, None for a
        sample rejected as judge_failed; or unjudged=True: kept without a judge request);
        argument (passed=); dedup (duplicate=); kept (scenario=, tool=, source=).
        """
        if event == "usage":
            self._usage(what["usage"], what.get("finish_reason"))
        elif event == "reject":
            self.rejects[what["check"]] = self.rejects.get(what["check"], 0) + n
            if stage in self.stages:
                self.stages[stage].rejected += n
            if what["check"] in JUDGE_CHECKS and JUDGE_STAGE in self.stages:
                self.stages[JUDGE_STAGE].rejected += n
        elif event == "verdict":
            self._verdict(what)
        elif event == "argument":
            self.arg_checked += n
            self.arg_passed += n if what["passed"] else 0
        elif event == "dedup":
            self.dup_candidates += n
            self.duplicates += n if what["duplicate"] else 0
        elif event == "kept":
            slot = (what["scenario"], what["tool"], what["source"])
            self.kept[slot] = self.kept.get(slot, 0) + n
            if what["source"] in self.stages:
                self.stages[what["source"]].accepted += n
        else:
            self._stage(event, self.stages[stage or ""], n, what)

    @staticmethod
    def _stage(event: str, st: StageStats, n: int, what: dict[str, Any]) -> None:
        if event == "pending":
            st.pending += n
            st.in_flight += n if what.get("in_flight") else 0
            st.retrying += n if what.get("retrying") else 0
        elif event == "given_up":
            st.given_up += n
            reason = what["reason"]
            st.failed_reasons[reason] = st.failed_reasons.get(reason, 0) + n
        elif event in ("planned", "cached", "parsed", "samples"):
            setattr(st, event, getattr(st, event) + n)
        else:
            raise ValueError(f"unknown stats event {event!r}")

    def _verdict(self, what: dict[str, Any]) -> None:
        if what.get("unjudged"):
            self.judge.unjudged += 1
            return
        found = what["found"]
        if found is None:
            self.judge.failed += 1
            return
        score, kinds, reason = found
        self.judge.add(score, list(kinds), reason)
        if not kinds and JUDGE_STAGE in self.stages:
            self.stages[JUDGE_STAGE].accepted += 1

    def _usage(self, usage: Any, finish_reason: str | None) -> None:
        prompt, completion, cached = response.token_counts(usage)
        self.prompt_tokens += prompt
        self.completion_tokens += completion
        if not response.reports_tokens(usage):
            self.usage_missing += 1
        thought = reasoning.reasoning_tokens(usage)
        self.reasoning_tokens += thought
        if finish_reason == "length":
            self.truncated += 1
            if completion and thought >= 0.8 * completion:
                self.truncated_by_reasoning += 1
        if cached is not None:
            self.cached_tokens = (self.cached_tokens or 0) + cached

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["kept"] = [[*slot, n] for slot, n in sorted(self.kept.items(), key=_slot_order)]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Stats:
        stats = cls(stages={k: StageStats(**v) for k, v in data["stages"].items()})
        for f in fields(cls):  # every plain counter, so a new one cannot be left out
            if f.name not in ("stages", "kept", "judge") and f.name in data:
                setattr(stats, f.name, data[f.name])  # one an older build lacks: its default
        stats.kept = {(s, t, src): n for s, t, src, n in data["kept"]}
        stats.judge = JudgeStats(**data["judge"])
        return stats


def _slot_order(item: tuple[tuple[str, str | None, str], int]) -> tuple[str, str, str]:
    (scenario, tool, source), _ = item
    return scenario, tool or "", source


def store(out: Path, stats: Stats, summary: dict[str, Any]) -> None:
    """Keep what the build counted (and ``summary``: its dataset facts) for status."""
    doc = {"version": STORED_VERSION, "stats": stats.to_json(), **summary}
    atomic_write(out / STORED_NAME, orjson.dumps(doc, option=orjson.OPT_SORT_KEYS))


def load(out: Path) -> tuple[Stats, dict[str, Any]] | None:
    """(stats, summary) of the last build, or None when there is none we can read."""
    with contextlib.suppress(FileNotFoundError, orjson.JSONDecodeError, KeyError, TypeError):
        doc = orjson.loads((out / STORED_NAME).read_bytes())
        if isinstance(doc, dict) and doc.get("version") == STORED_VERSION:
            return Stats.from_json(doc["stats"]), doc
    return None
