"""plan.partners through the inverted index ranks exactly as comparing every pair did,
and a 10,000-tool set plans in seconds."""

from __future__ import annotations

import random
import re
import time
from pathlib import Path

from forge_batch import config as C
from forge_batch import plan, related
from forge_batch.tools import Tool, load_tools

DATA = Path(__file__).parent / "data"
_WORD = re.compile(r"[A-Za-z][a-z]*|[0-9]+")


def pairwise_partners(tool: Tool, tools: tuple[Tool, ...], limit: int = 3) -> tuple[str, ...]:
    """The original quadratic ranking, kept here as the reference."""

    def words(t: Tool) -> set[str]:
        found = {w.lower() for w in _WORD.findall(t.export_name)}
        return found | {f"param:{p}" for p in t.parameters.get("properties", {}) or {}}

    mine = words(tool)
    scored = []
    for pos, other in enumerate(tools):
        if other.export_name == tool.export_name:
            continue
        theirs = words(other)
        score = len(mine & theirs) / max(1, len(mine | theirs))
        if score > 0:
            scored.append((-score, pos, other.export_name))
    scored.sort()
    return (tool.export_name, *(name for _, _, name in scored[:limit]))


def synthetic(n: int, seed: int, tmp_path: Path) -> tuple[Tool, ...]:
    rng = random.Random(seed)
    verbs = ["get", "list", "create", "delete", "update", "read", "write", "search"]
    nouns = ["file", "user", "order", "item", "note", "text", "page", "task", "tag", "job"]
    params = ["id", "path", "name", "query", "limit", "page", "user_id", "tags", "force"]
    tools = []
    for i in range(n):
        name = f"{rng.choice(verbs)}_{rng.choice(nouns)}_{rng.choice(nouns)}{i % 7}"
        props = {p: {"type": "string"} for p in rng.sample(params, rng.randint(0, 4))}
        tools.append(
            {"name": f"{name}_{i}" if rng.random() < 0.5 else name + f"x{i}",
             "description": "A tool.",
             "inputSchema": {"type": "object", "properties": props}}
        )  # fmt: skip
    import json

    path = tmp_path / f"tools{n}-{seed}.json"
    path.write_text(json.dumps({"tools": tools}))
    return load_tools(path).tools


def test_index_ranks_like_every_pair(tmp_path: Path) -> None:
    sets = [load_tools(DATA / f).tools for f in ("mcp-filesystem.tools.json",
            "mcp-memory.tools.json", "openai_tools.json", "bfcl_functions.json")]  # fmt: skip
    sets += [synthetic(n, s, tmp_path) for n, s in ((40, 1), (150, 2), (400, 3))]
    compared = 0
    for tools in sets:
        for tool in tools:
            for limit in (1, 3, 25):
                assert plan.partners(tool, tools, limit) == pairwise_partners(tool, tools, limit)
                compared += 1
    assert compared > 1500


def test_ten_thousand_tools_plan_in_seconds(tmp_path: Path) -> None:
    tools = synthetic(10_000, 9, tmp_path)
    toml = tmp_path / "forge.toml"
    config = C.from_dict({"tools": "x.json", "seeds": 1000,
                          "scenarios": {"parallel": 0.5, "multi_turn": 0.5}}, toml)  # fmt: skip
    from forge_batch.tools import ToolSet

    toolset = ToolSet(tmp_path / "x.json", "mcp", tools)
    started = time.perf_counter()
    specs = list(plan.iter_seeds(config, toolset))
    idx = related.index(tools)
    for pos in range(0, len(tools), 10):  # every tenth tool ranked against all 10,000
        idx.top(pos, 3)
    elapsed = time.perf_counter() - started
    assert len(specs) == 1000
    assert elapsed < 10, elapsed


ONLY_CATALOGUES = {s: float(s in ("no_tool", "ambiguous")) for s in C.SCENARIOS}


def _catalogue_config(tmp_path: Path, **values: object) -> C.Config:
    return C.from_dict(
        {"tools": "x.json", "seeds": 400, "scenarios": ONLY_CATALOGUES, **values},
        tmp_path / "forge.toml",
    )


def test_catalogue_is_bounded_and_holds_the_look_alikes(tmp_path: Path) -> None:
    from forge_batch.tools import ToolSet

    tools = synthetic(600, 4, tmp_path)
    toolset = ToolSet(tmp_path / "x.json", "mcp", tools)
    specs = list(plan.iter_seeds(_catalogue_config(tmp_path), toolset))
    assert {s.scenario for s in specs} == {"no_tool", "ambiguous"}
    order = {t.export_name: i for i, t in enumerate(tools)}
    for spec in specs:
        assert len(spec.shown) == 20 and spec.tool in spec.shown
        assert list(spec.shown) == sorted(spec.shown, key=order.__getitem__)
        near = plan.partners(toolset.by_name[spec.tool], tools, 9)
        assert set(near) <= set(spec.shown)
    again = list(plan.iter_seeds(_catalogue_config(tmp_path), toolset))
    assert again == specs
    smaller = list(plan.iter_seeds(_catalogue_config(tmp_path, generation={"catalogue_size": 5}),
                                   toolset))  # fmt: skip
    assert all(len(s.shown) == 5 for s in smaller)


def test_small_tool_sets_list_every_tool(tmp_path: Path) -> None:
    toolset = load_tools(DATA / "mcp-memory.tools.json")
    config = C.from_dict({"tools": "x.json", "seeds": 100}, tmp_path / "forge.toml")
    names = tuple(t.export_name for t in toolset.tools)
    shown = [s.shown for s in plan.iter_seeds(config, toolset) if s.scenario == "no_tool"]
    assert shown and all(s == names for s in shown)


def test_one_tool_edit_resends_only_requests_that_show_it(tmp_path: Path) -> None:
    import json

    from forge_batch.stages import seed_requests

    synthetic(300, 5, tmp_path)
    path = tmp_path / "tools300-5.json"
    config = C.from_dict({"tools": path.name, "seeds": 1500}, tmp_path / "forge.toml")
    before = dict(seed_requests(config, load_tools(path)))
    data = json.loads(path.read_text())
    edited = data["tools"][17]
    edited["description"] = "Edited. " + edited["description"]
    path.write_text(json.dumps(data))
    after = dict(seed_requests(config, load_tools(path)))
    assert before.keys() == after.keys()
    name = edited["name"]
    changed = {s for s in after if after[s].key != before[s].key}
    shows = {s for s in after if name in s.targets or name in s.shown}
    assert changed == shows
    assert 0 < len(changed) < 0.1 * len(after)
    for spec, req in after.items():
        assert len(req.canonical) < 8000, (spec, len(req.canonical))
