"""Which seed conversations exist: (tool, scenario, index), spread by weight.

The plan is recomputed from forge.toml and the tools on every command; it is
the source of truth for what should exist, so nothing about it is stored.
Counts are monotone in ``seeds`` and a seed's identity depends only on
(random_seed, tool, scenario, index), so growing a job keeps every request
that already existed (and its cached response).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass

from . import hints, related
from .config import SCENARIOS, Config
from .tools import Tool, ToolSet

# Scenarios whose request shows the tool catalog instead of full schemas.
CATALOG_SCENARIOS = frozenset({"no_tool", "ambiguous"})
# Scenarios that pair the target tool with a partner.
PAIRED_SCENARIOS = frozenset({"parallel", "multi_turn"})


@dataclass(frozen=True, slots=True)
class SeedSpec:
    scenario: str
    tool: str  # export name of the target tool
    index: int  # position within its (tool, scenario) group
    targets: tuple[str, ...]  # tools the conversation calls (export names)
    hint: str
    shown: tuple[str, ...] = ()  # catalogue scenarios: the tools the request lists


def _stable(random_seed: int, *parts: str) -> int:
    text = "\x00".join((str(random_seed), *parts))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def largest_remainder(total: int, weights: dict[str, float]) -> dict[str, int]:
    """Split ``total`` by ``weights`` into integers that sum to ``total``."""
    wsum = sum(w for w in weights.values() if w > 0)
    if total <= 0 or wsum <= 0:
        return {k: 0 for k in weights}
    quotas = {k: total * w / wsum if w > 0 else 0.0 for k, w in weights.items()}
    counts = {k: int(q) for k, q in quotas.items()}
    left = total - sum(counts.values())
    order = sorted(quotas, key=lambda k: (-(quotas[k] - counts[k]), list(weights).index(k)))
    for k in order[:left]:
        counts[k] += 1
    return counts


def scenario_counts(total: int, weights: dict[str, float], n_tools: int) -> dict[str, int]:
    """Seeds per scenario; with ``total >= n_tools`` every tool gets a standard seed."""
    counts = largest_remainder(total, {s: weights.get(s, 0.0) for s in SCENARIOS})
    if total >= n_tools and counts["standard"] < n_tools:
        deficit = n_tools - counts["standard"]
        while deficit:
            donor = max(
                (s for s in SCENARIOS if s != "standard"),
                key=lambda s: (counts[s], -SCENARIOS.index(s)),
            )
            counts[donor] -= 1
            counts["standard"] += 1
            deficit -= 1
    return counts


def tool_counts(
    count: int, scenario: str, tools: tuple[Tool, ...], random_seed: int
) -> dict[str, int]:
    """Spread one scenario's seeds over tools: equal shares, the rest by a fixed order."""
    names = [t.export_name for t in tools]
    if not names:
        return {}
    base, rest = divmod(count, len(names))
    order = sorted(names, key=lambda n: (_stable(random_seed, "tool-order", scenario, n), n))
    extra = set(order[:rest])
    return {n: base + (n in extra) for n in names}


def partners(tool: Tool, tools: tuple[Tool, ...], limit: int = 3) -> tuple[str, ...]:
    """Tools that make sense beside ``tool``: itself, then the most related ones.

    Related means sharing name words or parameter names (read_file and
    read_text_file share "read", "file" and "path"); ties go to file order.
    """
    idx = related.index(tools)
    pos = tools.index(tool)
    return (tool.export_name, *(idx.names[p] for p in idx.top(pos, limit)))


def catalogue(
    tool: Tool, scenario: str, index: int, tools: tuple[Tool, ...], size: int, random_seed: int
) -> tuple[str, ...]:
    """The tools a no_tool or ambiguous request lists, in tool-file order.

    Every tool when there are at most ``size``; otherwise the target, its most
    related tools (the look-alikes that make "call nothing" or "ask first" hard)
    up to half of ``size``, and the rest a fixed sample of the others, so a
    request's size does not grow with the tool set and editing one tool changes
    only the requests that list it.
    """
    if len(tools) <= size:
        return tuple(t.export_name for t in tools)
    idx = related.index(tools)
    pos = tools.index(tool)
    chosen = {pos, *idx.top(pos, max(0, size // 2 - 1))}
    rng = random.Random(_stable(random_seed, "catalogue", scenario, tool.export_name, str(index)))
    for other in rng.sample(range(len(tools)), min(len(tools), 2 * size)):
        if len(chosen) >= size:
            break
        chosen.add(other)
    return tuple(idx.names[p] for p in sorted(chosen))


def iter_seeds(config: Config, toolset: ToolSet) -> Iterator[SeedSpec]:
    """Every planned seed, scenario by scenario, tool by tool (prompt-cache friendly)."""
    tools = toolset.tools
    size = config.generation.catalogue_size
    per_scenario = scenario_counts(config.seeds, config.scenarios, len(tools))
    pairs: dict[str, tuple[str, ...]] = {}  # only tools with a paired seed need partners
    for scenario in SCENARIOS:
        counts = tool_counts(per_scenario[scenario], scenario, tools, config.random_seed)
        for tool in tools:
            name = tool.export_name
            for i in range(counts.get(name, 0)):
                if scenario in PAIRED_SCENARIOS:
                    if name not in pairs:
                        pairs[name] = partners(tool, tools)
                    options = pairs[name]
                    targets: tuple[str, ...] = (name, options[i % len(options)])
                else:
                    targets = (name,)
                shown: tuple[str, ...] = ()
                if scenario in CATALOG_SCENARIOS:
                    shown = catalogue(tool, scenario, i, tools, size, config.random_seed)
                hint = hints.hint(config.random_seed, name, scenario, i)
                yield SeedSpec(scenario, name, i, targets, hint, shown)


def distractors(
    spec_id: str, targets: tuple[str, ...], toolset: ToolSet, count: int, random_seed: int
) -> tuple[str, ...]:
    """A few other tools shown beside the targets in the training record."""
    others = [t.export_name for t in toolset.tools if t.export_name not in targets]
    if len(others) <= count:
        return tuple(others)
    rng = random.Random(_stable(random_seed, "distractor", spec_id))
    return tuple(rng.sample(others, count))
