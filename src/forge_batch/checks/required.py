"""The required check: required top-level arguments are present."""

from __future__ import annotations

from ..records import Sample
from .context import CheckContext


def check_required(sample: Sample, ctx: CheckContext) -> str | None:
    """Required top-level arguments are present (nested ones: the schema check)."""
    for call, spec in ctx.view(sample).usable:
        for name in spec.required:
            if name not in call.args:
                return f"{call.label()}: missing required argument '{name}'"
    return None
