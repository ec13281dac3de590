"""The unknown_args check: no argument the schema does not declare."""

from __future__ import annotations

from ..records import Sample
from .context import CheckContext


def check_unknown_args(sample: Sample, ctx: CheckContext) -> str | None:
    """No argument the schema does not declare, unless it allows extra ones."""
    for call, spec in ctx.view(sample).usable:
        if not spec.closed:
            continue
        for name in call.args:
            if name not in spec.properties and not any(p.search(name) for p in spec.patterns):
                return f"{call.label()}: unknown argument '{name}'"
    return None
