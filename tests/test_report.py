"""out/report.md: thresholds with pass/fail, rejects, synthetic share, cost; the chart."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from forge_batch import config as cfg
from forge_batch.report import StageStats, Stats, render, write_report


def _config(tmp_path: Path, **extra: object) -> cfg.Config:
    return cfg.from_dict(
        {"tools": "tools.json", "model": "gpt-4o-mini", **extra}, tmp_path / "forge.toml"
    )


def _stats(tools: int = 3) -> Stats:
    kept: dict[tuple[str, str | None, str], int] = {}
    for i in range(tools):
        kept[("standard", f"tool_{i:02d}", "seed")] = 10 + i
        kept[("parallel", f"tool_{i:02d}", "paraphrase")] = 3
    kept[("no_tool", None, "seed")] = 4
    kept[("standard", "tool_00", "real")] = 5
    return Stats(
        stages={
            "seed": StageStats(
                planned=120,
                cached=110,
                pending=6,
                given_up=4,
                parsed=108,
                samples=108,
                accepted=100,
                rejected=12,
                failed_reasons={"rate_limit": 3, "server_error": 1},
            ),
            "paraphrase": StageStats(
                planned=100, cached=100, parsed=100, samples=300, accepted=280, rejected=20
            ),
        },
        rejects={"schema": 7, "duplicate": 9, "grounding": 11, "request_failed": 4},
        kept=kept,
        arg_checked=400,
        arg_passed=393,
        dup_candidates=300,
        duplicates=9,
        prompt_tokens=2_000_000,
        completion_tokens=1_000_000,
        cached_tokens=500_000,
    )


def _row(text: str, metric: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(f"| {metric}"))


def test_quality_gates_show_value_threshold_and_result(tmp_path: Path) -> None:
    text = render(_stats(), _config(tmp_path), chart=None)
    parse = _row(text, "parse rate")
    assert "208/210" in parse and ">= 98%" in parse and "| pass |" in parse
    schema = _row(text, "schema conformance")
    assert "98.2% (393/400)" in schema and ">= 95%" in schema and "| pass |" in schema
    dup = _row(text, "duplicate rate")
    assert "3.0% (9/300)" in dup and "< 5%" in dup and "| pass |" in dup


def test_failing_gates_are_marked(tmp_path: Path) -> None:
    stats = _stats()
    stats.stages["seed"].parsed = 50
    stats.arg_passed, stats.duplicates = 300, 30
    text = render(stats, _config(tmp_path), chart=None)
    for metric in ("parse rate", "schema conformance", "duplicate rate"):
        assert "**FAIL**" in _row(text, metric)


def test_empty_run_says_not_applicable(tmp_path: Path) -> None:
    text = render(Stats(), _config(tmp_path), chart=None)
    assert "n/a (0/0)" in _row(text, "parse rate")
    assert _row(text, "duplicate rate").endswith("| n/a |")
    assert "No chart: no samples were kept." in text


def test_rejects_by_check_and_failed_requests(tmp_path: Path) -> None:
    text = render(_stats(), _config(tmp_path), chart=None)
    section = text.split("## Rejects by check", 1)[1].split("##", 1)[0]
    assert (
        section.index("| grounding | 11 |")
        < section.index("| duplicate | 9 |")
        < section.index("| schema | 7 |")
    )
    assert "| seed | rate_limit | 3 |" in text
    assert "| seed | 120 | 110 | 6 | 4 | 98.2% (108/110) | 108 | 100 | 12 |" in text


def test_synthetic_share_against_the_cap(tmp_path: Path) -> None:
    stats = _stats()  # kept: 33 seed standard + 4 seed no_tool + 5 real + 9 paraphrase
    text = render(stats, _config(tmp_path), chart=None)
    row = _row(text, "synthetic share")
    assert "17.6% (9/51)" in row and "<= 30% (synthetic_cap)" in row and "| pass |" in row
    tight = render(stats, _config(tmp_path, synthetic_cap=0.1), chart=None)
    assert "**FAIL**" in _row(tight, "synthetic share")


def test_mix_tables_by_scenario_and_tool(tmp_path: Path) -> None:
    text = render(_stats(), _config(tmp_path), chart=None)
    assert "| scenario | real | seed | paraphrase | total |" in text
    assert "| standard | 5 | 33 | 0 | 38 |" in text
    assert "| no_tool | 0 | 4 | 0 | 4 |" in text
    assert "| tool_00 | 5 | 10 | 3 | 18 |" in text
    assert "| (no tool) | 0 | 4 | 0 | 4 |" in text
    assert text.count("| **total** | 5 | 37 | 9 | 51 |") == 2  # both tables add up


def test_cost_applies_the_batch_discount(tmp_path: Path) -> None:
    text = render(_stats(), _config(tmp_path), chart=None)
    # (2M x 0.15 + 1M x 0.60) / 1M = 0.90 at list price, half with the batch discount
    assert "**$0.4500**" in text and "50% batch discount" in text
    assert "| cached prompt (included above) | 500,000 |" in text
    full = render(_stats(), _config(tmp_path, batch_discount=0.0), chart=None)
    assert "**$0.9000**" in full


def test_responses_without_usage_are_said_not_counted_as_free(tmp_path: Path) -> None:
    """An engine that sends no usage: the totals say what they leave out, or are unknown."""
    some = _stats()
    some.usage_missing = 70  # of the 210 cached responses
    text = render(some, _config(tmp_path), chart=None)
    assert "**70 of 210 responses reported no usage**" in text
    assert "the totals above leave them out" in text
    assert "Cost: at least **$0.4500**" in text
    none = _stats()
    none.prompt_tokens = none.completion_tokens = 0
    none.cached_tokens = None
    none.usage_missing = 210
    text = render(none, _config(tmp_path), chart=None)
    assert "| prompt | unknown |" in text and "| completion | unknown |" in text
    assert "the totals are unknown" in text
    assert "Cost: unknown (no response reported its tokens)." in text and "$" not in text


def test_unknown_price_is_said(tmp_path: Path) -> None:
    text = render(_stats(), _config(tmp_path, model="my-model"), chart=None)
    assert "No price for model `my-model`" in text and '[prices."my-model"]' in text
    assert "$" not in text.split("## Tokens and cost", 1)[1]


def test_report_is_deterministic_and_timestamp_only_when_given(tmp_path: Path) -> None:
    config = _config(tmp_path)
    assert render(_stats(), config, chart=None) == render(_stats(), config, chart=None)
    assert "Generated" not in render(_stats(), config, chart=None)
    assert "Generated 2025-01-02." in render(
        _stats(), config, chart=None, generated_at="2025-01-02"
    )


def test_write_report_draws_the_png_with_matplotlib(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "out"
    paths = write_report(out, _stats(tools=30), _config(tmp_path))
    assert paths == [out / "report.md", out / "report.png"]
    png = (out / "report.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert "![Scenario and source mix per tool](report.png)" in (out / "report.md").read_text()
    write_report(out, _stats(tools=30), _config(tmp_path))
    assert (out / "report.png").read_bytes() == png  # deterministic bytes
    assert sorted(p.name for p in out.iterdir()) == ["report.md", "report.png"]


def test_many_tools_fold_into_other(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    paths = write_report(tmp_path, _stats(tools=45), _config(tmp_path))
    assert len(paths) == 2 and paths[1].stat().st_size > 0


def test_without_matplotlib_the_report_says_how_to_get_the_chart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    (tmp_path / "report.png").write_bytes(b"stale")
    paths = write_report(tmp_path, _stats(), _config(tmp_path))
    assert paths == [tmp_path / "report.md"]
    assert not (tmp_path / "report.png").exists()
    assert "pip install 'forge-batch[report]'" in (tmp_path / "report.md").read_text()


def test_a_no_tool_sample_counts_under_no_tool_whatever_its_seed_targeted(
    tmp_path: Path,
) -> None:
    stats = Stats(kept={("no_tool", "tool_00", "seed"): 2, ("standard", "tool_00", "seed"): 1})
    text = render(stats, _config(tmp_path), chart=None)
    assert "| tool_00 | 0 | 1 | 0 | 1 |" in text
    assert "| (no tool) | 0 | 2 | 0 | 2 |" in text


def test_chart_has_whole_count_ticks_and_legends_without_empty_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    from forge_batch.report import chart_png

    figures = []
    real_close = plt.close

    def keep(fig: object = None) -> None:
        figures.append(fig)
        real_close(fig)

    monkeypatch.setattr(plt, "close", keep)
    stats = Stats(kept={("standard", "tool_00", "seed"): 1, ("no_tool", "tool_01", "seed"): 1})
    assert chart_png(stats) is not None
    (fig,) = figures
    scenario_ax, source_ax = fig.axes
    for ax in (scenario_ax, source_ax):
        assert all(float(t).is_integer() for t in ax.get_xticks()), ax.get_xticks()
    legend = [t.get_text() for t in source_ax.get_legend().get_texts()]
    assert legend == ["seed"]  # no empty "real" or "paraphrase" entry
    assert [t.get_text() for t in scenario_ax.get_legend().get_texts()] == [
        "standard",
        "no_tool",
    ]
    assert "(no tool)" in [t.get_text() for t in scenario_ax.get_yticklabels()]


def _judged(stats: Stats) -> Stats:
    for score in (0.95, 0.92, 0.85, 0.81):
        stats.judge.add(score, [], "fine")
    stats.judge.add(0.42, ["value", "score"], "base and height swapped")
    stats.judge.add(0.3, ["score"], "base and height swapped")
    stats.judge.add(0.9, ["answer"], "answer invents a price")
    stats.judge.failed = 2
    return stats


def test_judge_section_histogram_failures_and_reasons(tmp_path: Path) -> None:
    text = render(_judged(_stats()), _config(tmp_path), chart=None)
    section = text.split("## Judge", 1)[1].split("\n## ", 1)[0]
    assert (
        "Model `gpt-4o-mini`, threshold 0.8, scope all: 7 verdicts, 4 kept, 3 rejected" in section
    )
    assert "2 failed (`judge_failed`)" in section
    assert "| 0.9-1.0 | 3 | " + "#" * 30 + " |" in section  # the largest bin: 30 marks
    assert "| 0.8-0.9 | 2 | " + "#" * 20 + " |" in section
    assert "| 0.3-0.4 | 1 |" in section and "| 0.0-0.1 | 0 |  |" in section
    assert "| score below threshold | 2 |" in section and "| answer not truthful | 1 |" in section
    assert section.index("| base and height swapped | 2 |") < section.index("| answer invents")


def test_mean_judge_score_gate(tmp_path: Path) -> None:
    stats = _judged(_stats())  # mean of the 7 verdicts: 5.15 / 7
    row = _row(render(stats, _config(tmp_path), chart=None), "mean judge score")
    assert "0.736 (7 judged)" in row and ">= 0.8" in row and "**FAIL**" in row
    stats.judge.add(1.0, [], "fine")
    stats.judge.add(1.0, [], "fine")
    stats.judge.add(1.0, [], "fine")  # 8.15 / 10
    assert "| pass |" in _row(render(stats, _config(tmp_path), chart=None), "mean judge score")
    assert _row(render(_stats(), _config(tmp_path), chart=None), "mean judge score").endswith(
        "| n/a |"
    )


def test_judge_off_is_said(tmp_path: Path) -> None:
    text = render(_stats(), _config(tmp_path, judge={"enabled": False}), chart=None)
    assert "Off (`[judge] enabled = false`)" in text


def test_the_chart_has_a_histogram_panel_when_judged(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    plain = write_report(tmp_path / "a", _stats(), _config(tmp_path))
    judged = write_report(tmp_path / "b", _judged(_stats()), _config(tmp_path))
    assert plain[1].read_bytes() != judged[1].read_bytes()
    # nothing kept, yet judged: the histogram alone is drawn
    only = _judged(Stats())
    paths = write_report(tmp_path / "c", only, _config(tmp_path))
    assert [p.name for p in paths] == ["report.md", "report.png"]
