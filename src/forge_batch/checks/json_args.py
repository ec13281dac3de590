"""The json check: every call's arguments string is a strict JSON object."""

from __future__ import annotations

from ..records import Sample
from .context import CheckContext


def check_json(sample: Sample, ctx: CheckContext) -> str | None:
    """Each call's arguments are a strict JSON object (trainers re-parse them)."""
    for call in ctx.view(sample).calls:
        if call.error:
            return f"{call.label()}: {call.error}"
    return None
