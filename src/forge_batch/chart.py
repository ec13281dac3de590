"""out/report.png: the kept samples' scenario and source mix per tool, and judge scores.

Drawn apart from the Markdown (report.py) because it is the one part that needs
matplotlib, imported only here and only when a chart is drawn. The PNG carries
no version stamp, so the same Stats give the same bytes.
"""

from __future__ import annotations

import io
from collections import defaultdict
from typing import Any

from .config import SCENARIOS
from .stages import SOURCES
from .stats import BINS, JUDGE_MEAN_MIN, JudgeStats, Stats

NO_TOOL_SCENARIO = "no_tool"  # its samples call no tool, whatever the seed targeted
NO_TOOL = "(no tool)"
MAX_CHART_TOOLS = 30


def tool_label(scenario: str, tool: str | None) -> str:
    """The tool a kept sample counts under: none for a no_tool sample."""
    return NO_TOOL if scenario == NO_TOOL_SCENARIO or not tool else tool


def _histogram(ax: Any, judge: JudgeStats) -> None:
    """Judge scores in bins of 0.1, the threshold region shaded by the gate's bound."""
    ax.bar(
        [i / BINS for i in range(BINS)],
        judge.hist,
        width=1 / BINS,
        align="edge",
        color="#4c72b0",
        edgecolor="white",
    )
    ax.axvline(JUDGE_MEAN_MIN, color="#c44e52", linestyle="--", linewidth=1)
    ax.set_xlim(0, 1)
    ax.set_title(f"judge scores (mean {judge.mean:.2f}, n={judge.judged})")
    ax.set_xlabel("score")
    ax.set_ylabel("samples")
    ax.yaxis.get_major_locator().set_params(integer=True)


def chart_png(stats: Stats) -> bytes | None:
    """Stacked horizontal bars per tool: scenario mix (left), source mix (right),
    and the judge-score histogram (third panel, when anything was judged).

    Horizontal so 10-30 tool names stay readable; past 30 the smallest tools
    are folded into one "other" bar. None when matplotlib is missing.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator
        from matplotlib.transforms import offset_copy
    except ImportError:
        return None
    by_scen: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_src: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (scenario, tool, source), n in stats.kept.items():
        by_scen[tool_label(scenario, tool)][scenario] += n
        by_src[tool_label(scenario, tool)][source] += n
    order = sorted(by_src, key=lambda t: (-sum(by_src[t].values()), t))
    if len(order) > MAX_CHART_TOOLS:
        rest = order[MAX_CHART_TOOLS - 1 :]
        other = f"other ({len(rest)} tools)"
        for table in (by_scen, by_src):
            for tool in rest:
                for k, n in table.pop(tool).items():
                    table[other][k] += n
        order = [*order[: MAX_CHART_TOOLS - 1], other]
    order = order[::-1]  # largest on top
    scenarios = [s for s in SCENARIOS if any(by_scen[t].get(s) for t in order)]
    scenarios += sorted({s for t in order for s in by_scen[t]} - set(SCENARIOS))
    height = max(3.0, 0.32 * len(order) + 2.2)
    judged = stats.judge.judged > 0
    if not judged:
        fig, axes = plt.subplots(1, 2, figsize=(12, height), sharey=True)
        hist_ax = None
    elif order:
        fig, all_axes = plt.subplots(
            1, 3, figsize=(17, height), gridspec_kw={"width_ratios": [1, 1, 0.8]}
        )
        all_axes[1].sharey(all_axes[0])
        all_axes[1].tick_params(labelleft=False)
        axes, hist_ax = all_axes[:2], all_axes[2]
    else:  # nothing kept: the histogram says why
        fig, hist_ax = plt.subplots(1, 1, figsize=(6, 4))
        axes = []
    tab10 = plt.get_cmap("tab10")
    palette = [*SCENARIOS, *(s for s in scenarios if s not in SCENARIOS)]
    scen_color = {s: tab10(i % 10) for i, s in enumerate(palette)}
    colors = ("#1b9e77", "#7570b3", "#d95f02", "#e7298a", "#66a61e")
    src_color = {s: colors[i % len(colors)] for i, s in enumerate(SOURCES)}
    try:
        if hist_ax is not None:
            _histogram(hist_ax, stats.judge)
        sources = [s for s in SOURCES if any(by_src[t].get(s) for t in order)]
        for ax, table, keys, colors, title in zip(
            axes,
            (by_scen, by_src),
            (scenarios, sources),
            (scen_color, src_color),
            ("scenario mix", "source mix"),
            strict=False,
        ):
            left = [0] * len(order)
            for key in keys:
                values = [table[t].get(key, 0) for t in order]
                ax.barh(order, values, left=left, label=key, color=colors[key])
                left = [a + b for a, b in zip(left, values, strict=True)]
            ax.set_title(title)
            ax.set_xlabel("kept samples")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # whole samples
            below = offset_copy(ax.transAxes, fig, y=-0.45, units="inches")
            ax.legend(
                loc="upper center",
                bbox_to_anchor=(0.5, 0.0),
                bbox_transform=below,
                ncol=min(4, len(keys)),
                fontsize="small",
                frameon=False,
            )
        if len(axes):
            axes[0].tick_params(axis="y", labelsize="small")
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
        return buf.getvalue()
    finally:
        plt.close(fig)
