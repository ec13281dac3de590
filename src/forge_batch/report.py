"""out/report.md (+ out/report.png): what a run produced, and whether to trust it.

The QC thresholds come from the research notes (seed 001, section 4):
tool-call parse rate >= 98%, schema conformance >= 95%, duplicates < 5%, mean
judge score >= 0.8; the synthetic share is checked against ``synthetic_cap``.
Output is deterministic (sorted tables, no clock, PNG without a version stamp),
so the same Stats give the same files.
The chart needs matplotlib (``pip install 'forge-batch[report]'``); without it
the report says so and everything else is written.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from . import reasoning
from .chart import chart_png, tool_label
from .config import SCENARIOS, Config
from .costs import batch_cost
from .fsio import atomic_write
from .stages import NAMES as STAGES
from .stages import SOURCES
from .stages import STAGES as STAGE_OBJECTS
from .stats import (
    BINS,
    DUP_MAX,
    JUDGE_MEAN_MIN,
    PARSE_MIN,
    SCHEMA_MIN,
    JudgeStats,
    StageStats,
    Stats,
)
from .verdict import KIND_TEXT

__all__ = ["StageStats", "Stats", "chart_png", "render", "write_report"]

TOP_REASONS = 10


def _pct(num: int, den: int) -> str:
    return f"{num / den:.1%} ({num}/{den})" if den else "n/a (0/0)"


def _gate(metric: str, num: int, den: int, bound: str, ok: Callable[[float], bool]) -> list[object]:
    """A quality-gate row: metric, value, threshold, pass/FAIL (n/a with nothing to measure)."""
    result = "n/a" if not den else ("pass" if ok(num / den) else "**FAIL**")
    return [metric, _pct(num, den), bound, result]


def _mean_gate(judge: JudgeStats) -> list[object]:
    mean = judge.mean
    if mean is None:
        return ["mean judge score", "n/a (0 judged)", f">= {JUDGE_MEAN_MIN:g}", "n/a"]
    result = "pass" if mean >= JUDGE_MEAN_MIN else "**FAIL**"
    return [
        "mean judge score",
        f"{mean:.3f} ({judge.judged} judged)",
        f">= {JUDGE_MEAN_MIN:g}",
        result,
    ]


def _table(head: list[str], rows: list[list[object]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return [*out, ""]


def _quality(stats: Stats, config: Config) -> list[str]:
    resp = sum(s.cached for s in stats.stages.values())
    parsed = sum(s.parsed for s in stats.stages.values())
    total = sum(stats.kept.values())
    synthetic = {s.name for s in STAGE_OBJECTS if s.synthetic}
    synth = sum(n for (_, _, src), n in stats.kept.items() if src in synthetic)
    cap = config.synthetic_cap
    rows = [
        _gate(
            "parse rate (responses that parsed)",
            parsed,
            resp,
            f">= {PARSE_MIN:.0%}",
            lambda v: v >= PARSE_MIN,
        ),
        _gate(
            "schema conformance (calls pass argument checks)",
            stats.arg_passed,
            stats.arg_checked,
            f">= {SCHEMA_MIN:.0%}",
            lambda v: v >= SCHEMA_MIN,
        ),
        _gate(
            "duplicate rate",
            stats.duplicates,
            stats.dup_candidates,
            f"< {DUP_MAX:.0%}",
            lambda v: v < DUP_MAX,
        ),
        _gate(
            "synthetic share (paraphrases kept)",
            synth,
            total,
            f"<= {cap:.0%} (synthetic_cap)",
            lambda v: v <= cap + 1e-9,
        ),
        _mean_gate(stats.judge),
    ]
    return ["## Quality gates", "", *_table(["metric", "value", "threshold", "result"], rows)]


def _stages(stats: Stats) -> list[str]:
    rows, failed = [], []
    order = [s for s in STAGES if s in stats.stages] + sorted(set(stats.stages) - set(STAGES))
    for name in order:
        s = stats.stages[name]
        rows.append(
            [
                name,
                s.planned,
                s.cached,
                s.pending,
                s.given_up,
                _pct(s.parsed, s.cached),
                s.samples,
                s.accepted,
                s.rejected,
            ]
        )
        failed += [[name, reason, n] for reason, n in sorted(s.failed_reasons.items())]
    out = [
        "## Stages",
        "",
        *_table(
            [
                "stage",
                "planned",
                "cached",
                "pending",
                "failed",
                "parse rate",
                "samples",
                "accepted",
                "rejected",
            ],
            rows,
        ),
    ]
    if failed:
        out += ["Failed requests by reason:", "", *_table(["stage", "reason", "count"], failed)]
    return out


def _rejects(stats: Stats) -> list[str]:
    items = sorted(stats.rejects.items(), key=lambda kv: (-kv[1], kv[0]))
    rows: list[list[object]] = [[check, n] for check, n in items]
    if not rows:
        return ["## Rejects by check", "", "None.", ""]
    return ["## Rejects by check", "", *_table(["check", "count"], rows)]


def bin_label(i: int) -> str:
    return f"{i / BINS:.1f}-{(i + 1) / BINS:.1f}"


def _judge(stats: Stats, config: Config) -> list[str]:
    j, jc = stats.judge, config.judge
    if not jc.enabled:
        return [
            "## Judge",
            "",
            "Off (`[judge] enabled = false`): samples kept on the rules alone.",
            "",
        ]
    out = [
        "## Judge",
        "",
        f"Model `{jc.model}`, threshold {jc.threshold:g}, scope {jc.scope}: "
        f"{j.judged} verdicts, {j.kept} kept, {j.rejected} rejected (`judge`), "
        f"{j.failed} failed (`judge_failed`), {j.unjudged} kept unjudged.",
        "",
    ]
    if j.judged:
        top = max(j.hist) or 1
        rows: list[list[object]] = [
            [bin_label(i), n, "#" * round(30 * n / top)] for i, n in enumerate(j.hist)
        ]
        out += ["Score histogram:", "", *_table(["score", "samples", ""], rows)]
    if j.kinds:
        kinds = sorted(j.kinds.items(), key=lambda kv: (-kv[1], kv[0]))
        rows = [[KIND_TEXT.get(k, k), n] for k, n in kinds]
        out += ["Rejected by the judge, by failure:", "", *_table(["failure", "samples"], rows)]
    if j.reasons:
        items = sorted(j.reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_REASONS]
        rows = [[reason.replace("|", "\\|"), n] for reason, n in items]
        out += ["Top judge reasons (rejected samples):", "", *_table(["reason", "samples"], rows)]
    return out


def _mix(stats: Stats, axis: int) -> dict[str, dict[str, int]]:
    """{scenario or tool: {source: count}} from the kept counts."""
    mix: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(SOURCES, 0))
    for (scenario, tool, source), n in stats.kept.items():
        label = scenario if axis == 0 else tool_label(scenario, tool)
        mix[label][source] = mix[label].get(source, 0) + n
    return mix


def _mix_table(
    title: str, label: str, mix: dict[str, dict[str, int]], order: list[str]
) -> list[str]:
    sources = [*SOURCES, *sorted({s for row in mix.values() for s in row} - set(SOURCES))]
    rows = [
        [name, *(mix[name].get(s, 0) for s in sources), sum(mix[name].values())] for name in order
    ]
    totals = [sum(mix[n].get(s, 0) for n in order) for s in sources]
    rows.append(["**total**", *totals, sum(totals)])
    return [title, "", *_table([label, *sources, "total"], rows)]


def _tool_order(mix: dict[str, dict[str, int]]) -> list[str]:
    return sorted(mix, key=lambda t: (-sum(mix[t].values()), t))


def _truncation(stats: Stats, config: Config) -> list[str]:
    """Why answers were cut off, and what to change, when reasoning ate the budget."""
    if not stats.truncated_by_reasoning:
        return []
    gen = config.generation
    lowest = reasoning.default_effort(config.model)
    advice = f"raise `[generation] max_tokens` (now {gen.max_tokens:,}; the default for "
    default = reasoning.budget(1024, gen.reasoning_effort)
    advice += f"`{config.model}` at this effort is {default:,})"
    if lowest and gen.reasoning_effort != lowest:
        advice += f" or lower `reasoning_effort` (now `{gen.reasoning_effort or 'unset'}`; "
        advice += f"`{lowest}` is the lowest this model takes)"
    return [
        f"**{stats.truncated_by_reasoning:,} of {stats.truncated:,} truncated responses spent "
        "their output budget on reasoning**: a reasoning model bills reasoning tokens out of "
        "`max_completion_tokens` before it writes the answer, so these came back empty (or cut "
        f"off) with `finish_reason: length` and were paid for. To fix: {advice}. Either "
        "changes every request body, so the next run sends the stage again.",
        "",
    ]


def _unreported(stats: Stats) -> tuple[int, int]:
    """(responses that reported no token counts, responses counted)."""
    return stats.usage_missing, sum(st.cached for st in stats.stages.values())


def _cost(stats: Stats, config: Config) -> list[str]:
    missing, answered = _unreported(stats)
    none = bool(answered) and missing >= answered  # nothing to sum: unknown, not 0

    def count(value: int | None) -> str:
        return "unknown" if value is None or none else f"{value:,}"

    out = [
        "## Tokens and cost",
        "",
        *_table(
            ["tokens", "count"],
            [
                ["prompt", count(stats.prompt_tokens)],
                ["cached prompt (included above)", count(stats.cached_tokens)],
                ["completion", count(stats.completion_tokens)],
                ["reasoning (included in completion)", count(stats.reasoning_tokens)],
            ],
        ),
        *_truncation(stats, config),
    ]
    if missing:
        out += [
            f"**{missing:,} of {answered:,} responses reported no usage** (the engine sent no "
            "token counts with them): "
            + ("the totals are unknown." if none else "the totals above leave them out."),
            "",
        ]
    price = config.price()
    if none:
        out.append("Cost: unknown (no response reported its tokens).")
    elif price is None:
        out.append(
            f'No price for model `{config.model}`: add `[prices."{config.model}"]` '
            "with input and output USD per 1M tokens to forge.toml."
        )
    else:
        cost = batch_cost(config, price, stats.prompt_tokens, stats.completion_tokens)
        out.append(
            ("Cost: at least " if missing else "Cost: ")
            + f"**${cost:,.4f}** for `{config.model}` at ${price.input:g} input / "
            f"${price.output:g} output per 1M tokens, {config.batch_discount:.0%} batch "
            "discount; cached prompt tokens counted at the full input price."
        )
    return [*out, ""]


NO_MATPLOTLIB = (
    "Chart not drawn: matplotlib is not installed. "
    "Get it with `pip install 'forge-batch[report]'` and collect again."
)
NO_SAMPLES = "No chart: no samples were kept."


def render(
    stats: Stats, config: Config, *, chart: str | None, generated_at: str | None = None
) -> str:
    """The report as Markdown; ``chart`` is the PNG's file name or None when not drawn."""
    total = sum(stats.kept.values())
    by_source = {s: sum(n for (_, _, src), n in stats.kept.items() if src == s) for s in SOURCES}
    head = [
        "# forge-batch report",
        "",
        f"Model `{config.model}`; {total} samples kept "
        f"({', '.join(f'{s} {by_source[s]}' for s in SOURCES)})."
        + (f" Generated {generated_at}." if generated_at else ""),
        "",
    ]
    scen = _mix(stats, 0)
    scen_order = [s for s in SCENARIOS if s in scen] + sorted(set(scen) - set(SCENARIOS))
    tools = _mix(stats, 1)
    lines = [
        *head,
        *_quality(stats, config),
        *_stages(stats),
        *_rejects(stats),
        *_judge(stats, config),
        *_mix_table("## Kept samples by scenario", "scenario", scen, scen_order),
        *_mix_table("## Kept samples by tool", "tool", tools, _tool_order(tools)),
        *_cost(stats, config),
        "## Chart",
        "",
    ]
    if chart:
        lines.append(f"![Scenario and source mix per tool]({chart})")
    else:
        lines.append(NO_SAMPLES if not stats.kept else NO_MATPLOTLIB)
    return "\n".join(lines) + "\n"


def write_report(
    out_dir: str | Path, stats: Stats, config: Config, *, generated_at: str | None = None
) -> list[Path]:
    """Write report.md (and report.png when matplotlib is importable); return the paths."""
    out_dir = Path(out_dir)
    png_path = out_dir / "report.png"
    png = chart_png(stats) if stats.kept or stats.judge.judged else None
    if png is not None:
        atomic_write(png_path, png)
    else:  # a chart from an earlier run would no longer match the report
        png_path.unlink(missing_ok=True)
    text = render(stats, config, chart=png_path.name if png else None, generated_at=generated_at)
    atomic_write(out_dir / "report.md", text.encode())
    return [out_dir / "report.md", *([png_path] if png else [])]
