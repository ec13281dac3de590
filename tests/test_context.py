"""A request that cannot fit the model's context window stops prepare before anything
is written, naming the tool and what to change."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner, Result

from forge_batch import config as C
from forge_batch import context


def invoke(cfg: Path, *args: str) -> Result:
    from forge_batch.cli import cli

    return CliRunner().invoke(cli, ["-c", str(cfg), *args], catch_exceptions=False)


def test_window_by_model_prefix_and_override(tmp_path: Path) -> None:
    def window(**values: object) -> int | None:
        return context.window(C.from_dict({"tools": "t.json", **values}, tmp_path / "f.toml"))

    assert window(model="gpt-4o-mini-2024-07-18") == 128_000
    assert window(model="gpt-5-mini") == 400_000
    assert window(model="gpt-4.1-nano") == 1_047_576
    assert window(model="my-own-model") is None
    assert window(model="my-own-model", limits={"context_window": 32_000}) == 32_000


def test_overflow_is_pure_and_says_by_how_much() -> None:
    assert context.overflow(b"x" * 400, 100, 200) is None
    reason = context.overflow(b"x" * 4000, 512, 1000)
    assert reason == (
        "needs ~1,000 prompt tokens + 512 output tokens, over the model's context window of 1,000"
    )
    assert context.overflow(b"x" * 10**6, 10**6, None) is None


def test_prepare_refuses_a_tool_too_big_for_the_window(
    make_project: Callable[..., Path],
) -> None:
    only_standard = {s: float(s == "standard") for s in C.SCENARIOS}
    cfg = make_project(  # the big tool's requests come after 1,000 others: shards closed
        seeds=1200, paraphrases_per_seed=0, limits={"max_lines": 100}, scenarios=only_standard
    )
    tools_path = cfg.parent / "tools.json"
    data = json.loads(tools_path.read_text())
    big = data["tools"][-1]  # planned after shards of other tools were closed
    big["inputSchema"]["properties"] = {
        f"field_{i}": {"type": "string", "description": "One of the many details it takes. " * 3}
        for i in range(250)
    }
    tools_path.write_text(json.dumps(data))
    batches = cfg.parent / "batches"
    before = sorted(p.name for p in batches.rglob("*")) if batches.exists() else []
    result = invoke(cfg, "prepare")
    assert result.exit_code == 2, result.output
    assert f"tool '{big['name']}'" in result.output
    assert "context window of 8,192" in result.output and "[limits] context_window" in result.output
    after = sorted(p.name for p in batches.rglob("*")) if batches.exists() else []
    assert not [n for n in after if n.endswith(".jsonl") and n not in before]
    cfg.write_text(cfg.read_text().replace("[limits]", "[limits]\ncontext_window = 100000"))
    assert "context_window" in cfg.read_text()
    assert invoke(cfg, "prepare").exit_code == 0


def _shards(cfg: Path, stage: str) -> list[str]:
    return sorted(p.name for p in (cfg.parent / "batches").glob(f"{stage}-*.jsonl"))


def test_run_refuses_paraphrase_requests_over_the_window(
    make_project: Callable[..., Path],
) -> None:
    cfg = make_project(
        seeds=6,
        paraphrases_per_seed=1,
        generation={"paraphrase_max_tokens": 30_000},
        limits={"context_window": 20_000},
    )
    result = invoke(cfg, "run")  # the seeds fit and are answered; their paraphrases do not
    assert result.exit_code == 2, result.output
    assert "paraphrase request of seed sample '" in result.output
    assert "30,000 output tokens, over the model's context window of 20,000" in result.output
    assert "[generation] paraphrase_max_tokens" in result.output
    assert _shards(cfg, "seed") and not _shards(cfg, "paraphrase")  # none written
    cfg.write_text(cfg.read_text().replace("30000", "512"))
    assert invoke(cfg, "run").exit_code == 0
    assert _shards(cfg, "paraphrase")


def test_run_refuses_judge_requests_over_the_judge_models_window(
    make_project: Callable[..., Path],
) -> None:
    cfg = make_project(
        seeds=6,
        paraphrases_per_seed=0,
        judge={"enabled": True, "scope": "all", "max_tokens": 30_000},
        limits={"context_window": 20_000},
    )
    result = invoke(cfg, "run")
    assert result.exit_code == 2, result.output
    assert "judge request of sample '" in result.output and "; calls " in result.output
    assert "over the model's context window of 20,000" in result.output
    assert "[judge] max_tokens" in result.output
    assert _shards(cfg, "seed") and not _shards(cfg, "judge")
