"""The schema check: arguments validate against the tool's original schema."""

from __future__ import annotations

from ..records import Sample
from .context import CheckContext


def check_schema(sample: Sample, ctx: CheckContext) -> str | None:
    """Arguments validate against the tool's original schema (types, enums, patterns,
    formats); a bool is not an integer, an int is a number."""
    for call, spec in ctx.view(sample).usable:
        reason = ctx.validate(spec, call.raw, call.args)
        if reason:
            return f"{call.label()}: {reason}"
    return None
