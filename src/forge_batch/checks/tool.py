"""The tool check: the called tool is offered in the sample, with a valid schema."""

from __future__ import annotations

from ..records import Sample
from .context import CheckContext


def check_tool(sample: Sample, ctx: CheckContext) -> str | None:
    """The called tool is offered in the sample and its definition is valid JSON Schema."""
    view = ctx.view(sample)
    for call in view.calls:
        if call.name is None:
            return f"call {call.n} has no function name"
        spec = view.tools.get(call.name)
        if spec is None:
            return f"{call.label()}: no tool of that name in the sample's tools"
        if spec.problem:
            return f"{call.label()}: the tool's parameters are {spec.problem}"
    return None
