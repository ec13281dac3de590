"""The pilot's look at the later stages: paraphrase and judge requests, rendered, not sent.

The pilot sends seed requests only (its cost stays that of N seeds). What the
accepted seeds would make the later stages send is known without sending it:
each accepted seed plans its paraphrase request and, with the judge on, its
judge request (``Judged.plans``, as the build plans them), and both are
rendered here. A paraphrase does not exist yet, so its judge request is
estimated by the seed's own judge request shown beside itself as the
original (same rubric, tools, conversation and reference section; the rewritten
user turn is about as long as the one it replaces), once per rewrite asked
for; with ``[judge] scope = "doubtful"`` paraphrases are counted at the share
of pilot seeds the rules doubted.

Prompt tokens are the rendered bodies' characters / 4 (context.prompt_tokens,
as prepare estimates them); output is unknown before an answer, so it is given
as the requests' budget (``max_completion_tokens``), an upper bound, and the
cost as prompts alone up to prompts plus full budgets, at each stage's model's
batch price.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import orjson

from . import context
from .config import Config
from .costs import batch_cost, money
from .examine import Judged
from .records import Sample
from .stages import JUDGE, PARAPHRASE
from .stages.base import Stage
from .stages.judge import spec_of
from .tools import ToolSet

PARAPHRASE_ROW = "paraphrase"
SEED_JUDGE_ROW = "judge (seeds)"
PARAPHRASE_JUDGE_ROW = "judge (paraphrases)"


@dataclass(slots=True)
class LaterStage:
    """The requests of one later stage that the pilot's accepted seeds make."""

    model: str
    requests: float = 0.0  # a share when estimated (paraphrase judging, scope "doubtful")
    prompt_tokens: float = 0.0
    output_budget: float = 0.0

    def add(self, canonical: bytes, budget: int, weight: float = 1.0) -> None:
        self.requests += weight
        self.prompt_tokens += context.prompt_tokens(canonical) * weight
        self.output_budget += budget * weight


def estimate(accepted: Iterable[Judged], config: Config, toolset: ToolSet) -> dict[str, LaterStage]:
    """Per later stage (row name), the requests the accepted pilot seeds would make."""
    rows: dict[str, LaterStage] = {}
    seeds = list(accepted)
    para_on, judge_on = PARAPHRASE.enabled(config), JUDGE.enabled(config)
    if para_on:
        rows[PARAPHRASE_ROW] = LaterStage(PARAPHRASE.model(config))
    if judge_on:
        rows[SEED_JUDGE_ROW] = LaterStage(JUDGE.model(config))
        if para_on:
            rows[PARAPHRASE_JUDGE_ROW] = LaterStage(JUDGE.model(config))
    doubted = sum(1 for s in seeds if s.plans.get(JUDGE.name) is not None)
    # paraphrases judged: all with scope "all"; else at the seeds' doubted share
    share = 1.0 if config.judge.scope == "all" else doubted / max(1, len(seeds))
    for item in seeds:
        _render(
            rows.get(PARAPHRASE_ROW), PARAPHRASE, item.plans.get(PARAPHRASE.name), config, toolset
        )
        _render(rows.get(SEED_JUDGE_ROW), JUDGE, item.plans.get(JUDGE.name), config, toolset)
        if PARAPHRASE_JUDGE_ROW in rows and item.plans.get(PARAPHRASE.name) is not None:
            seed = Sample.from_json(orjson.loads(item.line))
            weight = share * config.paraphrases_per_seed
            _render(
                rows[PARAPHRASE_JUDGE_ROW], JUDGE, spec_of(seed, (), seed), config, toolset, weight
            )
    return rows


def _render(
    row: LaterStage | None,
    stage: Stage,
    spec: object | None,
    config: Config,
    toolset: ToolSet,
    weight: float = 1.0,
) -> None:
    if row is not None and spec is not None and weight:
        req = stage.render(spec, config, toolset)
        row.add(req.canonical, req.max_output_tokens, weight)


def _count(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def render(rows: dict[str, LaterStage], scale: float | None, config: Config) -> list[str]:
    """The report's lines on the later stages. ``scale``: projected accepted seeds of the
    whole job per accepted pilot seed (None when the pilot accepted none)."""
    if not rows:
        return []
    out = [
        "",
        "## Later stages, from the pilot's accepted seeds",
        "",
        "Rendered from the accepted pilot seeds, not sent. Prompt tokens: characters / 4; "
        "output: the requests' budget (an upper bound until answers say more).",
        "",
        "| stage | model | requests (pilot) | prompt tokens / request | output budget / request "
        "| requests (job) | cost (job): prompts - at most |",
        "|---|---|---|---|---|---|---|",
    ]
    low_sum = high_sum = 0.0
    priced = True
    for name, row in rows.items():
        per = max(row.requests, 1e-9)
        job = row.requests * scale if scale is not None else None
        price = config.prices.get(row.model)
        cost = "-"
        if price is None:
            cost, priced = f'no price (add [prices."{row.model}"])', False
        elif job is not None:
            prompts, outputs = row.prompt_tokens / per * job, row.output_budget / per * job
            low = batch_cost(config, price, prompts)
            high = batch_cost(config, price, prompts, outputs)
            low_sum, high_sum = low_sum + low, high_sum + high
            cost = f"{money(low)} - {money(high)}"
        out.append(
            f"| {name} | {row.model} | {_count(row.requests)} | {row.prompt_tokens / per:,.0f} | "
            f"{row.output_budget / per:,.0f} | "
            + (f"{job:,.0f}" if job is not None else "n/a")
            + f" | {cost} |"
        )
    if scale is None:
        out += ["", "No pilot seed was accepted: the later stages cannot be projected."]
    elif priced:
        out += [
            "",
            f"Later stages in all: {money(low_sum)} for prompts, at most {money(high_sum)} "
            "with every output budget spent.",
        ]
    return out
