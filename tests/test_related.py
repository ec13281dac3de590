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
