"""Grounding: every argument value comes from the user's words or an earlier tool result.

Each value gets one of four outcomes:

* grounded: the evidence (user turns, earlier tool results) contains it as written;
* normalized: a known normalization links it to the evidence (normalizers.py: dates
  to ISO, numbers in words/notation/units, places plus qualifiers, codes, enum labels
  in other words, defaults stated in the description, maths as code, ...);
* unsupported: neither;
* suspect: made of the user's words but likely wrong: cut short of a longer span or
  said in another time unit (suspects.py), swapped with a same-typed argument or a
  range in the wrong order (swaps.py).

Grounded and normalized pass. Unsupported and suspect are *doubts*: the judge stage
decides them when it is on; with the judge off the first doubt rejects the sample
(``check_grounding``), so nothing the rules cannot decide is kept silently.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from ...records import Sample
from ..context import Call, CheckContext, message_text, short
from .evidence import Evidence
from .normalizers import NORMALIZERS, other_label, target_unit
from .numbers import number
from .suspects import cut_in_results, cut_short, unit_mismatch
from .swaps import reversed_ranges, swapped
from .values import Leaf, leaves

__all__ = ["check_grounding", "grounding_doubts", "outcome"]


def check_grounding(sample: Sample, ctx: CheckContext) -> str | None:
    """The first grounding doubt (a value nobody gave, or one cut short or swapped), or
    None when every argument value is grounded or normalized."""
    return next(grounding_doubts(sample, ctx), None)


def grounding_doubts(sample: Sample, ctx: CheckContext) -> Iterator[str]:
    """One reason per doubtful argument value, in call order (lazily: the caller may
    stop at the first)."""
    usable = ctx.view(sample).usable
    if not usable:
        return
    evidence, k = Evidence(), 0
    for turn, message in enumerate(sample.messages):
        if k == len(usable):
            break
        role = message.get("role")
        if role == "user" or role == "tool":
            evidence.add(_said(message.get("content"), role), role)
        while k < len(usable) and usable[k][0].turn == turn:
            call, spec = usable[k]
            k += 1
            yield from _call_doubts(call, list(leaves(call.args, spec)), evidence)


def _call_doubts(call: Call, found: list[Leaf], evidence: Evidence) -> Iterator[str]:
    strings = None
    for leaf in found:
        if leaf.exempt:
            other = other_label(leaf, evidence)
            if other is not None:
                yield (
                    f"{call.label()}: argument '{leaf.path}' = {_show(leaf.value)}, "
                    f"but the user asked for {other!r}"
                )
            continue
        kind = outcome(leaf, evidence)
        if kind is None:
            yield (
                f"{call.label()}: argument '{leaf.path}' = {_show(leaf.value)} "
                "is not in the user turns or earlier tool results"
            )
        elif kind == "grounded" and not isinstance(leaf.value, str):
            if not evidence.get("spans"):
                continue
            n = number(leaf.value)
            unit = target_unit(leaf) if n is not None else None
            said = unit_mismatch(n, unit, evidence) if n is not None and unit else None
            if said is not None:
                yield (
                    f"{call.label()}: argument '{leaf.path}' = {_show(leaf.value)} is in "
                    f"{unit}s, but the user said {said}"
                )
        elif kind == "grounded" and isinstance(leaf.value, str):
            if strings is None:
                strings = {x.value.casefold() for x in found if isinstance(x.value, str)}
            span = cut_short(leaf.value, evidence, strings - {leaf.value.casefold()})
            if span is None and "name" in leaf.key.casefold():
                span = cut_in_results(leaf.value, evidence)
            if span is not None:
                yield (
                    f"{call.label()}: argument '{leaf.path}' = {_show(leaf.value)} "
                    f"is cut short of {short(span, 80)!r}"
                )
    if len(found) > 1:
        for leaf, word, other in swapped(found, evidence, call.name or ""):
            yield (
                f"{call.label()}: argument '{leaf.path}' = {_show(leaf.value)} stands "
                f"next to {word!r} (argument '{other.path}') in the user's words"
            )
        for low, high in reversed_ranges(found):
            yield (
                f"{call.label()}: argument '{low.path}' = {_show(low.value)} is after "
                f"'{high.path}' = {_show(high.value)}"
            )


def outcome(leaf: Leaf, evidence: Evidence) -> str | None:
    """ "grounded", the name of the normalization that links it, or None (unsupported)."""
    if evidence.has(leaf.value):
        return "grounded"
    for name, normalizer in NORMALIZERS:
        if normalizer(leaf, evidence):
            return name
    return None


def _said(content: Any, role: str) -> str:
    """A turn's text as evidence; a tool result's JSON with its \\u escapes undone, so
    "Tom\\u00e1s" is "Tomás" as the arguments write it."""
    if not isinstance(content, str):
        return message_text(content) or orjson.dumps(content).decode()
    if role == "tool" and "\\u" in content:
        try:
            return orjson.dumps(orjson.loads(content)).decode()
        except orjson.JSONDecodeError:
            return content
    return content


def _show(value: Any) -> str:
    return short(repr(value), 80)
