"""Judge verdicts -> kept, or (check, reason). Pure functions, no files.

A verdict is read against what the sample holds (``Expected``): it must grade
every call the sample makes (by tool name) and every argument of each call,
judge the final answer when tool results precede one, and, for a paraphrase,
say whether the intent was kept. A verdict that is not valid JSON, breaks the
schema, or leaves any of these out is incomplete: the sample is rejected as
``judge_failed`` (never kept unjudged), as is one whose judge request failed
for good. A response is paid for: an unusable one is not re-sent (the same
body would be the same request), it is rejected with what was wrong.

A complete verdict keeps the sample when its score reaches the threshold and
it names no hard failure (a value not ok, a call not ok, calling or not
calling wrong, an untruthful answer, a paraphrase that lost its intent);
otherwise the sample is rejected as ``judge`` with the judge's reason. The
threshold is an argument here, not part of any request.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .cache import Cached
from .parse import content_of

JUDGE = "judge"
JUDGE_FAILED = "judge_failed"
# kinds of hard failure as a reason names them (the report counts by kind)
KIND_TEXT = {
    "value": "argument value not ok",
    "call": "call not ok",
    "decision": "calling or not calling was wrong",
    "answer": "answer not truthful",
    "intent": "paraphrase changed the intent",
    "score": "score below threshold",
}
REASON_LIMIT = 500


@dataclass(frozen=True, slots=True)
class Expected:
    """What a complete verdict must cover for one sample."""

    calls: tuple[tuple[str, tuple[str, ...]], ...]  # (tool name, argument names), in order
    results_answered: bool  # tool results followed by a final answer: answer must be judged
    paraphrase: bool

    @classmethod
    def of(cls, messages: Sequence[dict[str, Any]], paraphrase: bool) -> Expected:
        calls = []
        for m in messages:
            for call in m.get("tool_calls") or []:
                fn = (call.get("function") or {}) if isinstance(call, dict) else {}
                try:
                    args = json.loads(fn.get("arguments") or "{}")
                except (TypeError, ValueError):
                    args = {}
                names = tuple(args) if isinstance(args, dict) else ()
                calls.append((str(fn.get("name", "")), names))
        last = messages[-1] if messages else {}
        answered = bool(
            last.get("role") == "assistant" and not last.get("tool_calls") and last.get("content")
        )
        has_results = any(m.get("role") == "tool" for m in messages)
        return cls(tuple(calls), answered and has_results, paraphrase)


@dataclass(frozen=True, slots=True)
class Verdict:
    """A complete verdict: its score, the judge's one-line reason, the hard failures."""

    score: float
    reason: str
    failures: tuple[tuple[str, str], ...] = ()  # (kind, detail)


def _problem(data: Any) -> str | None:
    """Where a decoded verdict breaks the verdict schema, or None."""
    if not isinstance(data, dict):
        return "not a JSON object"
    for name in ("call_decision_ok",):
        if not isinstance(data.get(name), bool):
            return f"{name} is not true/false"
    for name in ("answer_truthful", "intent_kept"):
        if data.get(name) is not None and not isinstance(data.get(name), bool):
            return f"{name} is not true/false/null"
    if not isinstance(data.get("reason"), str):
        return "reason is not a string"
    score = data.get("score")
    if isinstance(score, bool) or not isinstance(score, int | float) or not math.isfinite(score):
        return "score is not a number"
    if not 0 <= score <= 1:
        return f"score {score} is outside [0, 1]"
    calls = data.get("calls")
    if not isinstance(calls, list):
        return "calls is not a list"
    for i, call in enumerate(calls, 1):
        if not isinstance(call, dict) or not isinstance(call.get("tool"), str):
            return f"call {i} has no tool name"
        if not isinstance(call.get("call_ok"), bool):
            return f"call {i}: call_ok is not true/false"
        args = call.get("arguments")
        if not isinstance(args, list):
            return f"call {i}: arguments is not a list"
        for arg in args:
            if not (
                isinstance(arg, dict)
                and isinstance(arg.get("name"), str)
                and isinstance(arg.get("value_ok"), bool)
            ):
                return f"call {i}: an argument entry lacks name or value_ok"
    return None


def _coverage(data: dict[str, Any], expected: Expected) -> str | None:
    """What the verdict leaves ungraded, or None."""
    got = Counter(c["tool"] for c in data["calls"])
    want = Counter(name for name, _ in expected.calls)
    if got != want:
        return f"grades calls {sorted(got.elements())}, the sample makes {sorted(want.elements())}"
    graded: dict[str, set[str]] = {}
    for call in data["calls"]:
        graded.setdefault(call["tool"], set()).update(a["name"] for a in call["arguments"])
    for name, args in expected.calls:
        missing = [a for a in args if a not in graded.get(name, set())]
        if missing:
            return f"call {name}: argument(s) {', '.join(missing)} not graded"
    if expected.results_answered and data.get("answer_truthful") is None:
        return "answer_truthful is null, but the sample answers from tool results"
    if expected.paraphrase and data.get("intent_kept") is None:
        return "intent_kept is null for a paraphrase"
    return None


def read_verdict(content: str, expected: Expected) -> tuple[Verdict | None, str | None]:
    """The judge's message content -> (Verdict, None) or (None, what is wrong)."""
    try:
        data = json.loads(content)
    except (TypeError, ValueError) as exc:
        return None, f"verdict is not valid JSON: {exc}"[:200]
    problem = _problem(data) or _coverage(data, expected)
    if problem:
        return None, f"incomplete verdict: {problem}"
    failures: list[tuple[str, str]] = []
    for call in data["calls"]:
        for arg in call["arguments"]:
            if not arg["value_ok"]:
                why = str(arg.get("reason") or "").strip()
                failures.append(
                    ("value", f"{call['tool']}.{arg['name']}" + (f" ({why})" * bool(why)))
                )
        if not call["call_ok"]:
            failures.append(("call", call["tool"]))
    if not data["call_decision_ok"]:
        failures.append(("decision", ""))
    if data.get("answer_truthful") is False:
        failures.append(("answer", ""))
    if expected.paraphrase and data.get("intent_kept") is False:
        failures.append(("intent", ""))
    reason = " ".join(data["reason"].split())
    return Verdict(float(data["score"]), reason, tuple(failures)), None


def decide(verdict: Verdict, threshold: float) -> tuple[str, str] | None:
    """None when the sample is kept, else ("judge", reason)."""
    kinds = kinds_of(verdict, threshold)
    if not kinds:
        return None
    parts = []
    for kind in kinds:
        details = [d for k, d in verdict.failures if k == kind and d]
        parts.append(KIND_TEXT[kind] + (": " + ", ".join(details) if details else ""))
    text = f"score {verdict.score:.3f} (threshold {threshold:g}); {'; '.join(parts)}"
    if verdict.reason:
        text += f"; judge: {verdict.reason}"
    return JUDGE, text[:REASON_LIMIT]


def kinds_of(verdict: Verdict, threshold: float) -> list[str]:
    """The failure kinds a rejected verdict counts under (for the report)."""
    kinds = list(dict.fromkeys(k for k, _ in verdict.failures))
    if verdict.score < threshold:
        kinds.append("score")
    return kinds


def from_response(cached: Cached, expected: Expected) -> tuple[Verdict | None, str | None]:
    """A cached judge response -> (Verdict, None) or (None, why it is unusable)."""
    content, _, failure = content_of(cached)
    if failure is not None:
        return None, f"{failure[0]}: {failure[1]}"
    assert content is not None
    return read_verdict(content, expected)
