"""Reasoning models (gpt-5, o-series): which efforts they take, and the token budget.

Reasoning tokens are billed as output and spent out of ``max_completion_tokens``
before the answer is written: a budget sized for the answer alone comes back
empty with ``finish_reason: "length"``, and is paid for. Writing one training
conversation needs little reasoning, so the default effort is the lowest the
model accepts and the default budget is the answer budget plus an allowance
for that effort.

Efforts per family (OpenAI's reasoning guide and API reference): gpt-5,
gpt-5-mini, gpt-5-nano take minimal/low/medium/high (default medium);
gpt-5.1 and later take none/low/medium/high (gpt-5.2+ also xhigh; default
none); gpt-5-pro takes only high; o1/o3/o4-mini take low/medium/high.

Allowance per effort, in tokens, on top of the answer budget: OpenAI advises
reserving at least 25,000 tokens for reasoning and output when starting with
reasoning models (at the default medium effort); forge-batch takes that as
the medium allowance, doubles it for high/xhigh, and scales it down for the
efforts that reason less: low 1/5 (5,000), minimal 1/25 (1,000), none 0. The
same allowance is the reasoning part of prepare's "at most" cost estimate.
"""

from __future__ import annotations

EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")

ALLOWANCE: dict[str, int] = {
    "none": 0,
    "minimal": 1_000,
    "low": 5_000,
    "medium": 25_000,
    "high": 50_000,
    "xhigh": 50_000,
}

# model-name prefix -> efforts accepted, lowest first; the longest prefix wins
_FAMILIES: dict[str, tuple[str, ...]] = {
    "gpt-5": ("minimal", "low", "medium", "high"),
    "gpt-5.1": ("none", "low", "medium", "high"),
    "gpt-5.2": ("none", "low", "medium", "high", "xhigh"),
    "gpt-5.3": ("none", "low", "medium", "high", "xhigh"),
    "gpt-5.4": ("none", "low", "medium", "high", "xhigh"),
    "gpt-5-pro": ("high",),
    "o1": ("low", "medium", "high"),
    "o3": ("low", "medium", "high"),
    "o4": ("low", "medium", "high"),
}


def efforts(model: str) -> tuple[str, ...] | None:
    """Efforts ``model`` accepts (lowest first), or None when it is not a reasoning model."""
    match = [p for p in _FAMILIES if model.startswith(p)]
    return _FAMILIES[max(match, key=len)] if match else None


def is_reasoning(model: str) -> bool:
    """Reasoning models take no temperature and spend reasoning tokens from the budget."""
    return efforts(model) is not None


def effort_problem(model: str, effort: str) -> str | None:
    """None when ``model`` accepts ``effort``; otherwise what it accepts."""
    accepted = efforts(model)
    if effort not in EFFORTS:
        return f"must be one of {', '.join(EFFORTS)}, got {effort!r}"
    if accepted is None:
        return f"{model!r} is not a reasoning model (gpt-5*, o1/o3/o4*); remove the setting"
    if effort not in accepted:
        return f"{model!r} accepts {', '.join(accepted)}, not {effort!r}"
    return None


def default_effort(model: str) -> str | None:
    """The lowest effort the model accepts (None for other models)."""
    accepted = efforts(model)
    return accepted[0] if accepted else None


def budget(answer_tokens: int, effort: str | None) -> int:
    """max_completion_tokens that leaves ``answer_tokens`` after the effort's allowance."""
    return answer_tokens + (ALLOWANCE[effort] if effort else 0)


def reasoning_tokens(usage: object) -> int:
    """usage.completion_tokens_details.reasoning_tokens, 0 when absent or malformed."""
    if not isinstance(usage, dict):
        return 0
    details = usage.get("completion_tokens_details")
    if not isinstance(details, dict):
        return 0
    value = details.get("reasoning_tokens")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
