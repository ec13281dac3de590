"""run --pilot N: a deterministic sample across scenarios, a report, and a next run that
sends exactly the planned seed requests minus the N (example project shape, FakeModel)."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path

import orjson
from click.testing import CliRunner, Result

from forge_batch import config as C
from forge_batch import pilot
from forge_batch.cli import cli
from forge_batch.stages import seed_requests
from forge_batch.tools import project_tools

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "memory"
FAKE = f"{ROOT / 'tests' / 'doubles.py'}:FakeModel"


def invoke(cfg: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["-c", str(cfg), *args], catch_exceptions=False)


def example(tmp_path: Path, seeds: int) -> Path:
    """The example project, with the FakeModel double and more seeds."""
    root = tmp_path / "memory"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("batches", "cache", "out"))
    text = (root / "forge.toml").read_text()
    text = re.sub(r"(?m)^seeds = \d+", f"seeds = {seeds}", text)
    text = re.sub(r"(?m)^poll_interval = .*$", "poll_interval = 0", text)
    text = text.replace("[engine]\n", f'[engine]\nexecutor = "{FAKE}"\n', 1)
    (root / "forge.toml").write_text(text)
    return root / "forge.toml"


def seed_keys_sent(cfg: Path) -> list[str]:
    folder = cfg.parent / "batches"
    ledger = json.loads((folder / "ledger.json").read_text())["shards"].values()
    keys = []
    for rec in sorted(ledger, key=lambda r: r["file"]):
        if rec["stage"] == "seed":
            lines = (folder / rec["file"]).read_bytes().splitlines()
            keys += [orjson.loads(line)["custom_id"] for line in lines]
    return keys


def test_sample_is_deterministic_nested_and_spread(tmp_path: Path) -> None:
    cfg = C.load(example(tmp_path, 200))
    toolset = project_tools(cfg)
    scenario = {r.key: s.scenario for s, r in seed_requests(cfg, toolset)}
    small, big = pilot.sample_keys(cfg, toolset, 20), pilot.sample_keys(cfg, toolset, 50)
    assert len(small) == 20 and len(big) == 50 and small <= big
    assert pilot.sample_keys(cfg, toolset, 50) == big
    spread = Counter(scenario[k] for k in big)
    assert set(spread) == set(scenario.values())  # every planned scenario is piloted
    assert spread["standard"] > spread["edge"] >= 1


def test_pilot_then_run_sends_the_rest(tmp_path: Path) -> None:
    cfg = example(tmp_path, 200)
    result = invoke(cfg, "run", "--pilot", "50")
    assert result.exit_code == 0, result.output
    report = (cfg.parent / "out" / "pilot.md").read_text()
    assert report in result.output
    assert report.startswith("# Pilot: 50 of 200 planned seed requests")
    assert "| standard |" in report and "Rejected by check:" in report
    assert "per accepted sample" in report or "no sample was accepted" in report
    assert "## Projection for the whole job" in report
    assert "`forge-batch run` sends the other 150 seed requests" in report
    first = seed_keys_sent(cfg)
    assert len(first) == 50
    assert not (cfg.parent / "out" / "dataset.jsonl").exists()  # stopped after the pilot
    assert invoke(cfg, "run").exit_code == 0
    keys = seed_keys_sent(cfg)
    assert len(keys) == 200 and len(set(keys)) == 200  # planned minus the 50, none resent
    status = json.loads(invoke(cfg, "status", "--json").output)
    assert status["stages"]["seed"]["cached"] == 200


def test_prepare_pilot_writes_only_the_sample(tmp_path: Path) -> None:
    cfg = example(tmp_path, 200)
    assert invoke(cfg, "prepare", "--pilot", "30").exit_code == 0
    config = C.load(cfg)
    keys = pilot.sample_keys(config, project_tools(config), 30)
    manifest = json.loads((cfg.parent / "batches" / "manifest.json").read_text())
    lines = [
        orjson.loads(x)["custom_id"]
        for s in manifest["shards"]
        for x in (cfg.parent / "batches" / s["file"]).read_bytes().splitlines()
    ]
    assert sorted(lines) == sorted(keys)


def test_pilot_report_without_usage_says_unknown_not_free(tmp_path: Path) -> None:
    """Answers from a server that sends no ``usage`` must not project a $0 job."""
    cfg = example(tmp_path, 10)
    text = cfg.read_text().replace(
        "# [prices.", '[prices."SmolLM2-135M-Instruct"]\ninput = 1.0\noutput = 2.0\n# [prices.', 1
    )
    cfg.write_text(text)
    config = C.load(cfg)
    assert config.price() is not None

    def render(missing: int, prompt: int, completion: int) -> str:
        report = pilot.PilotReport(4, 40, {"standard": 40}, Counter(standard=4))
        report.accepted_by_scenario["standard"] = 2
        report.answered, report.usage_missing = 4, missing
        report.prompt_tokens, report.completion_tokens = prompt, completion
        return pilot.render(report, config)

    none = render(4, 0, 0)
    assert "Tokens and cost: unknown (none of the 4 answers reported usage)." in none
    assert "Cost:" not in none and "costing about" not in none
    half = render(2, 2000, 200)  # the two that reported: 1,000 prompt + 100 completion each
    assert "prompt 1,000, completion 100" in half and "from the 2 answers" in half
    # all four answers cost as the average one: 4 x (1,000 x $1 + 100 x $2) / 1M, half off
    assert "Cost: $0.0024 for the pilot, $0.0012 per accepted sample" in half, half
    every = render(0, 4000, 400)  # the same job with usage reported: the same cost
    assert "Cost: $0.0024 for the pilot" in every and "answers that reported" not in every


def _rendered(cfg: Path, stage: str) -> list[int]:
    """Estimated prompt tokens (characters / 4) of every request written for ``stage``."""
    from forge_batch import context, keys

    out = []
    for path in sorted((cfg.parent / "batches").glob(f"{stage}-*.jsonl")):
        for line in path.read_bytes().splitlines():
            out.append(context.prompt_tokens(keys.canonical(orjson.loads(line)["body"])))
    return out


def _row(report: str, name: str) -> list[str]:
    line = next(x for x in report.splitlines() if x.startswith(f"| {name} |"))
    return [c.strip() for c in line.strip("|").split("|")]


def test_pilot_projects_paraphrase_and_judge_requests_without_sending_them(
    tmp_path: Path,
) -> None:
    cfg = example(tmp_path, 30)
    text = cfg.read_text().replace('scope = "doubtful"', 'scope = "all"')
    text = text.replace("# [prices.", '[prices."SmolLM2-135M-Instruct"]\ninput = 1.0\n'
                        'output = 2.0\n# [prices.', 1)  # fmt: skip
    cfg.write_text(text)
    result = invoke(cfg, "run", "--pilot", "30")  # the pilot is the whole seed stage
    assert result.exit_code == 0, result.output
    report = (cfg.parent / "out" / "pilot.md").read_text()
    assert report.startswith("# Pilot: 30 of 30 planned seed requests")  # kept as before
    assert "## Later stages, from the pilot's accepted seeds" in report
    assert not _rendered(cfg, "paraphrase") and not _rendered(cfg, "judge")  # none sent
    accepted = sum(int(_row(report, s)[3]) for s in C.SCENARIOS if f"| {s} |" in report)
    assert accepted > 0
    para = _row(report, "paraphrase")
    assert para[1] == "SmolLM2-135M-Instruct" and para[2] == str(accepted)
    assert para[4] == "512"  # paraphrase_max_tokens
    seeds_judged = _row(report, "judge (seeds)")
    assert seeds_judged[2] == str(accepted) and seeds_judged[4] == "384"  # [judge] max_tokens
    para_judged = _row(report, "judge (paraphrases)")
    assert para_judged[2] == str(2 * accepted)  # paraphrases_per_seed = 2, scope "all"
    low, high = (float(x.strip("$").replace(",", "")) for x in para[6].split(" - "))
    assert 0 < low < high
    assert "Later stages in all: $" in report
    # the whole seed stage was piloted: what the next run writes is what was projected
    assert invoke(cfg, "run").exit_code == 0
    sent = _rendered(cfg, "paraphrase")
    assert len(sent) == accepted == int(para[5])
    assert para[3] == f"{sum(sent) / len(sent):,.0f}"
