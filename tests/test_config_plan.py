"""forge.toml validation, the plan (weights, determinism, stability) and rendered bodies."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from strict_rules import body_violations

from forge_batch import config as C
from forge_batch import keys, plan, prompts
from forge_batch.errors import ConfigError
from forge_batch.tools import load_tools

DATA = Path(__file__).parent / "data"


def cfg(tmp_path: Path, **values: object) -> C.Config:
    return C.from_dict(
        {"tools": str(DATA / "mcp-filesystem.tools.json"), **values}, tmp_path / "forge.toml"
    )


def test_defaults(tmp_path: Path) -> None:
    c = cfg(tmp_path)
    assert c.synthetic_cap == 0.30 and c.engine.kind == "local"
    assert c.scenarios == {
        "standard": 0.55,
        "no_tool": 0.15,
        "parallel": 0.10,
        "error": 0.10,
        "ambiguous": 0.05,
        "edge": 0.05,
        "multi_turn": 0.0,
    }
    assert c.paths.batches == tmp_path.resolve() / "batches"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"seeds": -1}, "seeds: must be between 0 and 100000000, got -1"),
        ({"seedz": 3}, "seedz: unknown key (did you mean 'seeds'?)"),
        ({"seeds": "ten"}, "seeds: expected an integer"),
        ({"seeds": True}, "seeds: expected a number"),
        ({"synthetic_cap": 1.5}, "synthetic_cap: must be between 0 and 0.95"),
        (
            {"scenarios": {"standrd": 1}},
            "scenarios.standrd: unknown key (did you mean 'standard'?)",
        ),
        ({"scenarios": {k: 0 for k in C.SCENARIOS}}, "scenarios: scenario weights sum to zero"),
        ({"engine": {"kind": "azure"}}, "engine.kind: must be one of local, openai"),
        ({"paths": {"out": "../elsewhere"}}, "paths.out: points outside the project folder"),
        ({"paths": {"cache": "/tmp/cache"}}, "paths.cache: must be a path inside the project"),
        ({"dedup": {"shingles": "word9"}}, "dedup.shingles: must be one of"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, values: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        cfg(tmp_path, **values)
    assert message in str(info.value)
    assert "forge.toml" in str(info.value)


def test_load_reports_toml_errors_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "forge.toml"
    with pytest.raises(ConfigError, match="file not found"):
        C.load(path)
    path.write_text('tools = "t.json"\nseeds = \n')
    with pytest.raises(ConfigError, match="invalid TOML"):
        C.load(path)
    path.write_bytes(b'tools = "\xff"\n')
    with pytest.raises(ConfigError, match="not UTF-8"):
        C.load(path)


def test_scenario_counts_follow_weights_exactly() -> None:
    counts = plan.scenario_counts(1000, C.DEFAULT_WEIGHTS, 5)
    assert counts == {
        "standard": 550,
        "no_tool": 150,
        "parallel": 100,
        "error": 100,
        "ambiguous": 50,
        "edge": 50,
        "multi_turn": 0,
    }
    assert sum(plan.scenario_counts(37, C.DEFAULT_WEIGHTS, 5).values()) == 37


def test_every_tool_gets_a_standard_seed(tmp_path: Path) -> None:
    c = cfg(tmp_path, seeds=14)
    toolset = load_tools(c.paths.tools)
    specs = list(plan.iter_seeds(c, toolset))
    assert len(specs) == 14
    standard = Counter(s.tool for s in specs if s.scenario == "standard")
    assert set(standard) == {t.export_name for t in toolset.tools}


def test_plan_is_deterministic_and_grows_stably(tmp_path: Path) -> None:
    toolset = load_tools(DATA / "mcp-filesystem.tools.json")
    small = list(plan.iter_seeds(cfg(tmp_path, seeds=60), toolset))
    again = list(plan.iter_seeds(cfg(tmp_path, seeds=60), toolset))
    big = list(plan.iter_seeds(cfg(tmp_path, seeds=120), toolset))
    other = list(plan.iter_seeds(cfg(tmp_path, seeds=60, random_seed=2), toolset))
    assert small == again
    assert set(small) <= set(big)  # growing a job keeps every existing seed
    assert {s.hint for s in small} != {s.hint for s in other}


def test_same_tool_and_scenario_differ_by_hint_not_counter(tmp_path: Path) -> None:
    toolset = load_tools(DATA / "mcp-memory.tools.json")
    specs = [
        s
        for s in plan.iter_seeds(cfg(tmp_path, seeds=300), toolset)
        if s.tool == "create_entities" and s.scenario == "standard"
    ]
    assert len(specs) > 10
    assert len({s.hint for s in specs}) == len(specs)
    assert not any(str(s.index) in s.hint for s in specs if s.index > 9)


def test_parallel_pairs_related_tools(tmp_path: Path) -> None:
    toolset = load_tools(DATA / "mcp-filesystem.tools.json")
    partners = plan.partners(toolset.by_name["read_file"], toolset.tools)
    assert partners[0] == "read_file"
    assert "read_text_file" in partners[1:]


def test_rendered_bodies_follow_strict_rules_and_keys_are_unique(tmp_path: Path) -> None:
    c = cfg(tmp_path, seeds=400, scenarios={"multi_turn": 0.05})
    for name in (
        "mcp-filesystem.tools.json",
        "openai_tools.json",
        "bfcl_functions.json",
        "generator_tools.json",
    ):
        toolset = load_tools(DATA / name)
        seen = set()
        for spec in plan.iter_seeds(c, toolset):
            body = prompts.render_seed(spec, toolset, c)
            assert body_violations(body) == [], (name, spec)
            seen.add(keys.request_key(body))
        assert len(seen) == 400
    body = prompts.render_paraphrase("Read /etc/hosts please", ("/etc/hosts",), 3, c)
    assert body_violations(body) == []


def test_static_prefix_first_and_only_needed_tools(tmp_path: Path) -> None:
    c = cfg(tmp_path, seeds=50)
    toolset = load_tools(DATA / "mcp-filesystem.tools.json")
    specs = list(plan.iter_seeds(c, toolset))
    bodies = [prompts.render_seed(s, toolset, c) for s in specs]
    assert len({b["messages"][0]["content"] for b in bodies}) == 1
    standard = next(b for s, b in zip(specs, bodies, strict=True) if s.scenario == "standard")
    user = standard["messages"][1]["content"]
    assert user.startswith("Scenario: standard")
    assert user.count("name: ") == 1  # only its own tool
    assert user.rstrip().endswith(".") and "Situation:" in user.split("\n\n")[-1]


@pytest.mark.parametrize("model", ["gpt-4o-mini", "gpt-5-mini"])
def test_fast_canonical_body_is_byte_identical(tmp_path: Path, model: str) -> None:
    """prepare's fragment-based serialization must give exactly the contract's bytes."""
    c = cfg(tmp_path, seeds=300, model=model, scenarios={"multi_turn": 0.05})
    for name in (
        "mcp-filesystem.tools.json",
        "openai_tools.json",
        "bfcl_functions.json",
        "generator_tools.json",
        "mcp-memory.tools.json",
    ):
        toolset = load_tools(DATA / name)
        for spec in plan.iter_seeds(c, toolset):
            slow = keys.canonical(prompts.render_seed(spec, toolset, c))
            assert prompts.canonical_seed(spec, toolset, c) == slow, (name, spec)
