"""The call_count check: the calls fit the scenario the sample was asked to show."""

from __future__ import annotations

from collections import Counter

from ..records import Sample
from .context import CheckContext


def check_call_count(sample: Sample, ctx: CheckContext) -> str | None:
    """The calls fit the scenario the sample was asked to show."""
    calls = ctx.view(sample).calls
    scenario = sample.scenario
    most = max(Counter(c.turn for c in calls).values()) if scenario == "parallel" and calls else 0
    if scenario in ("no_tool", "ambiguous") and calls:
        return f"{scenario} expects no tool call, got {len(calls)}"
    if scenario == "parallel" and most < 2:
        return f"parallel expects two or more calls in one assistant turn, got at most {most}"
    if scenario == "multi_turn":
        users = sum(1 for m in sample.messages if m.get("role") == "user")
        if users < 2:
            return f"multi_turn expects at least two user turns, got {users}"
    if scenario in ("standard", "error", "edge", "multi_turn") and not calls:
        return f"{scenario} expects at least one tool call, got none"
    return None
