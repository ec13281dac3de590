"""Pilot: send a small deterministic sample first, and see whether the job is worth it.

A batch may take 24 hours, and a prompt, schema or budget problem shows only in
its answers. ``run --pilot N`` sends N seed requests spread over the scenarios
(in proportion to the plan, each planned scenario at least once when N allows),
collects them, and reports acceptance by scenario and check, tokens and cost per
accepted sample, and the projected cost and yield of the whole job, then stops.
The later stages are not sent: the paraphrase and judge requests the accepted
seeds would make are rendered and their tokens and cost projected
(pilot_later.py).
The pilot's answers are cached like any other: the next plain ``run`` sends
exactly the planned seed requests minus the N (then the paraphrases).

The sample is the N requests whose keys sort first within each scenario's
quota: a pure function of the plan, so ``prepare --pilot N`` and ``run --pilot
N`` pick the same requests, and a larger N contains a smaller one's sample.
"""

from __future__ import annotations

import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from . import pilot_later, plan, reasoning, response
from .cache import ReadOnlyCache
from .config import SCENARIOS, Config
from .costs import batch_cost, money
from .fsio import atomic_write
from .index import RequestIndex
from .judging import Judge, Passes
from .ledger import State, in_flight_keys
from .spool import spool
from .stages import SEED
from .tools import ToolSet


def sample_keys(
    config: Config, toolset: ToolSet, n: int, *, index: RequestIndex | None = None
) -> set[str]:
    """The keys of the pilot: ``n`` planned seed requests, spread over scenarios.

    ``index``: the command's request index (keys rendered once per command).
    """
    index = index or RequestIndex(config, toolset)
    by_scenario: dict[str, list[str]] = defaultdict(list)
    for key, spec in index.entries(SEED):
        by_scenario[spec.scenario].append(key)
    planned = {s: len(by_scenario.get(s, [])) for s in SCENARIOS}
    total = sum(planned.values())
    n = min(n, total)
    quota = plan.largest_remainder(n, {s: float(c) for s, c in planned.items()})
    present = [s for s in SCENARIOS if planned[s]]
    if n >= len(present):  # every planned scenario at least once: its checks get a look
        for s in present:
            while quota[s] == 0:
                donor = max(present, key=lambda d: (quota[d], -SCENARIOS.index(d)))
                quota[donor] -= 1
                quota[s] += 1
    chosen: set[str] = set()
    for s in present:
        chosen.update(sorted(by_scenario[s])[: quota[s]])
    return chosen


@dataclass(slots=True)
class PilotReport:
    size: int
    planned: int  # seed requests of the whole job
    planned_by_scenario: dict[str, int]
    sent_by_scenario: Counter[str] = field(default_factory=Counter)
    accepted_by_scenario: Counter[str] = field(default_factory=Counter)
    answered: int = 0
    pending: int = 0  # not answered (failed or still in flight)
    rejects: Counter[tuple[str, str]] = field(default_factory=Counter)  # (scenario, check)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    usage_missing: int = 0  # answered requests whose usage gave no token counts
    # paraphrase / judge requests the accepted seeds would make (rendered, not sent)
    later: dict[str, pilot_later.LaterStage] = field(default_factory=dict)

    @property
    def accepted(self) -> int:
        return sum(self.accepted_by_scenario.values())


def evaluate(
    config: Config, toolset: ToolSet, keys: set[str], *, index: RequestIndex | None = None
) -> PilotReport:
    """Parse and check the pilot's cached answers (nothing is written).

    The seeds are judged as the build's seed pass judges them (checks, then
    dedup in plan order), without the real data.
    """
    index = index or RequestIndex(config, toolset)
    state = State(config.paths.batches)
    failures = state.failure_summary(config.engine.max_attempts)
    planned: Counter[str] = Counter()
    scenario_of: dict[str, str] = {}
    for key, spec in index.entries(SEED):
        planned[spec.scenario] += 1
        if key in keys:
            scenario_of[key] = spec.scenario
    report = PilotReport(len(keys), sum(planned.values()), dict(planned))
    judge = Judge(config, index.toolset, failures, in_flight_keys(state))
    with (
        ReadOnlyCache(config.paths.cache) as cache,
        tempfile.TemporaryDirectory(prefix="forge-batch-") as tmp,
        spool(Path(tmp)) as scratch,
    ):
        passes = Passes(judge, index, cache, scratch)
        accepted = []
        try:
            for _, kept, rejects in passes.stage(SEED):
                for sample, _ in kept:
                    if sample.key in keys:
                        report.accepted_by_scenario[scenario_of[sample.key]] += 1
                        accepted.append(sample)
                for rej in rejects:
                    if rej.key in keys and rej.check != "request_failed":
                        report.rejects[(scenario_of[rej.key], rej.check)] += 1
        finally:
            passes.close()
        found = cache.get_many(sorted(keys))
    report.later = pilot_later.estimate(accepted, config, index.toolset)
    for key, scenario in scenario_of.items():
        report.sent_by_scenario[scenario] += 1
        cached = found.get(key)
        if cached is None:
            report.pending += 1
            continue
        report.answered += 1
        usage = cached.body.get("usage")
        report.usage_missing += not response.reports_tokens(usage)
        prompt, completion, _ = response.token_counts(usage)
        report.prompt_tokens += prompt
        report.completion_tokens += completion
        report.reasoning_tokens += reasoning.reasoning_tokens(usage)
    return report


def render(report: PilotReport, config: Config) -> str:
    """The pilot report as Markdown (printed and written to out/pilot.md)."""
    r = report
    out = [
        f"# Pilot: {r.size} of {r.planned:,} planned seed requests",
        "",
        f"Answered {r.answered}, unanswered {r.pending} (failed or still running; "
        "`forge-batch status` says which).",
        "",
        "| scenario | planned | sent | accepted | rate | rejected by check |",
        "|---|---|---|---|---|---|",
    ]
    projected = 0.0
    for s in SCENARIOS:
        sent = r.sent_by_scenario.get(s, 0)
        if not sent and not r.planned_by_scenario.get(s):
            continue
        ok = r.accepted_by_scenario.get(s, 0)
        rate = ok / sent if sent else 0.0
        projected += rate * r.planned_by_scenario.get(s, 0)
        checks = ", ".join(
            f"{check} {n}" for (sc, check), n in sorted(r.rejects.items()) if sc == s
        )
        cell = f"{rate:.0%}" if sent else "n/a"
        out.append(
            f"| {s} | {r.planned_by_scenario.get(s, 0):,} | {sent} | {ok} | {cell} | "
            f"{checks or '-'} |"
        )
    by_check: Counter[str] = Counter()
    for (_, check), n in r.rejects.items():
        by_check[check] += n
    listed = ", ".join(f"{c} {n}" for c, n in by_check.most_common()) or "none"
    out += ["", f"Rejected by check: {listed}", ""]
    per = max(1, r.answered - r.usage_missing)  # averages over the answers that said
    if r.answered and r.usage_missing >= r.answered:
        out.append(f"Tokens and cost: unknown (none of the {r.answered} answers reported usage).")
    else:
        out.append(
            f"Tokens per answered request: prompt {r.prompt_tokens / per:,.0f}, completion "
            f"{r.completion_tokens / per:,.0f} (reasoning {r.reasoning_tokens / per:,.0f} of it)"
            + (f", from the {per} answers that reported usage." if r.usage_missing else ".")
        )
    price = config.price()
    cost = (
        batch_cost(config, price, r.prompt_tokens, r.completion_tokens)
        if price and r.usage_missing < max(1, r.answered)
        else None
    )
    if cost is not None and r.usage_missing:  # answers without usage cost as the average one
        cost = cost / per * r.answered
    if cost is not None and r.accepted:
        out.append(
            f"Cost: {money(cost)} for the pilot, {money(cost / r.accepted)} per accepted "
            f"sample ({config.model}, {config.batch_discount:.0%} batch discount)."
        )
    elif cost is not None:
        out.append(f"Cost: {money(cost)} for the pilot, and no sample was accepted.")
    elif not price:
        out.append(f'No price for {config.model!r}: add [prices."{config.model}"].')
    out += ["", "## Projection for the whole job", ""]
    out.append(
        f"Seed stage: {r.planned:,} requests, about {projected:,.0f} accepted samples "
        "(each scenario's pilot rate times its planned count)"
        + (
            f", costing about {money(cost / max(1, r.answered) * r.planned)} "
            "(the pilot's cost per request)."
            if cost is not None
            else "."
        )
    )
    if config.paraphrases_per_seed:
        out.append(
            f"Paraphrase stage: about {projected:,.0f} requests (one per accepted seed, "
            f"{config.paraphrases_per_seed} rewrites each), not part of the pilot; paraphrases "
            f"may be at most {config.synthetic_cap:.0%} of the dataset."
        )
    out += pilot_later.render(r.later, projected / r.accepted if r.accepted else None, config)
    left = r.planned - r.answered
    out += [
        "",
        f"Next: `forge-batch run` sends the other {left:,} seed requests (the pilot's "
        "answers are reused from the cache), then the paraphrases.",
    ]
    return "\n".join(out) + "\n"


def write(text: str, config: Config) -> Path:
    path = config.paths.out / "pilot.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, text.encode("utf-8"))
    return path
