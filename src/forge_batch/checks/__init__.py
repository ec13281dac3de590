"""Validations of one sample, run in a fixed order; the first failure names the check.

As in datatrove's filters, a check is a small function ``(sample, ctx) -> None | str``
(None = ok, a string = the reason) and knows nothing about files: the caller writes
the rejects. Every check works from the dataset record alone (the sample's own
``tools`` are the tool set), so real data, seeds and paraphrases are judged alike.

This module is the registry: each check lives in a module of its own, CHECKS lists
them in the order they run, and ``check_sample`` runs them. The check names are a
contract: rejects.jsonl and the report use them. Adding a check means one module
and one entry in CHECKS (and CHECK_ORDER).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..records import Sample
from .call_count import check_call_count
from .context import Call, Check, CheckContext, ToolSpec, View
from .grounding import check_grounding, grounding_doubts
from .grounding.evidence import numbers_in
from .hygiene import check_hygiene, fragment, garbage, identifier_only, refusal
from .json_args import check_json
from .required import check_required
from .roles import check_roles
from .schema import check_schema
from .tool import check_tool
from .unknown_args import check_unknown_args

__all__ = [
    "CHECKS",
    "CHECK_ORDER",
    "DOUBTERS",
    "Assessment",
    "Call",
    "Check",
    "CheckContext",
    "ToolSpec",
    "View",
    "all_checks",
    "assess",
    "check_call_count",
    "check_grounding",
    "check_hygiene",
    "check_json",
    "check_required",
    "check_roles",
    "check_sample",
    "check_schema",
    "check_tool",
    "check_unknown_args",
    "fragment",
    "garbage",
    "identifier_only",
    "numbers_in",
    "refusal",
]

CHECK_ORDER: tuple[str, ...] = (
    "roles",
    "hygiene",
    "json",
    "tool",
    "required",
    "unknown_args",
    "schema",
    "grounding",
    "call_count",
)
# Every check name a reject can carry, in pipeline order (the report lists them so).
all_checks: tuple[str, ...] = (
    "request_failed",
    "parse",
    "truncated",
    "refusal",
    *CHECK_ORDER,
    "duplicate",
    "synthetic_cap",
)

CHECKS: tuple[tuple[str, Check], ...] = (
    ("roles", check_roles),
    ("hygiene", check_hygiene),
    ("json", check_json),
    ("tool", check_tool),
    ("required", check_required),
    ("unknown_args", check_unknown_args),
    ("schema", check_schema),
    ("grounding", check_grounding),
    ("call_count", check_call_count),
)
assert tuple(name for name, _ in CHECKS) == CHECK_ORDER


# Checks whose findings are doubts for the judge, not failures: name -> every reason.
DOUBTERS: dict[str, Callable[[Sample, CheckContext], Iterator[str]]] = {
    "grounding": grounding_doubts,
}


@dataclass(slots=True, frozen=True)
class Assessment:
    """What the rules say of one sample: the first hard failure (check, reason), if any,
    and every doubt ("check: reason") the judge stage should decide."""

    failure: tuple[str, str] | None
    doubts: tuple[str, ...]


def assess(sample: Sample, ctx: CheckContext) -> Assessment:
    """Run every check; failures stop (as in ``check_sample``), doubts are collected.

    For the judge stage: a sample with a failure is rejected by the rules; one with
    doubts only is for the judge to keep or reject, never to be kept unjudged."""
    doubts: list[str] = []
    try:
        for name, check in ctx.checks:
            doubter = DOUBTERS.get(name)
            if doubter is not None:
                doubts.extend(f"{name}: {reason}" for reason in doubter(sample, ctx))
                continue
            reason = check(sample, ctx)
            if reason is not None:
                return Assessment((name, reason), tuple(doubts))
        return Assessment(None, tuple(doubts))
    finally:
        ctx._last = None  # do not keep the sample alive


def check_sample(sample: Sample, ctx: CheckContext) -> tuple[str, str] | None:
    """(check, reason) of the first failing check, or None when the sample is kept.

    With the judge off (``ctx.judge`` False) a doubt is a failure: the first one is
    returned as (check, reason), so nothing the rules cannot decide is kept. With the
    judge on, doubts are left to it and only hard failures are returned."""
    if ctx.judge:
        return assess(sample, ctx).failure
    try:
        for name, check in ctx.checks:
            reason = check(sample, ctx)
            if reason is not None:
                return name, reason
        return None
    finally:
        ctx._last = None  # do not keep the sample alive
