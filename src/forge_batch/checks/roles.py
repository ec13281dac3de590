"""The roles check: turn order as trainers expect it, every call answered once."""

from __future__ import annotations

from typing import Any

from ..records import Sample
from .context import CheckContext

_ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})


def check_roles(sample: Sample, ctx: CheckContext) -> str | None:
    """Role order as trainers expect it; every call answered once, right after it."""
    messages = sample.messages
    if not isinstance(messages, list) or not messages:
        return "no messages"
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in _ROLES:
            role = m.get("role") if isinstance(m, dict) else type(m).__name__
            return f"message {i} has an unknown role {role!r}"
    i = 1 if messages[0]["role"] in ("system", "developer") else 0
    if i >= len(messages) or messages[i]["role"] != "user":
        return "the conversation must start with a user turn (after an optional system turn)"
    seen_ids: set[str] = set()
    while i < len(messages):
        i, problem = _step(messages, i, seen_ids)
        if problem:
            return problem
    last = messages[-1]
    if (
        last["role"] != "assistant"
        or last.get("tool_calls")
        or not isinstance(last.get("content"), str | list)
    ):
        return "the conversation must end with an assistant text turn"
    return None


def _step(messages: list[dict[str, Any]], i: int, seen: set[str]) -> tuple[int, str | None]:
    """Check the turn at ``i`` and what must follow it; return the next index."""
    m, role = messages[i], messages[i]["role"]
    nxt = messages[i + 1]["role"] if i + 1 < len(messages) else None
    if role in ("system", "developer"):
        return i, f"message {i}: a {role} turn is only allowed first"
    if role == "tool":
        return i, f"message {i}: tool result without a preceding assistant tool call"
    if role == "user":
        if nxt not in (None, "assistant"):
            return i, f"message {i}: a user turn must be followed by an assistant turn, not {nxt}"
        return i + 1, None
    calls = m.get("tool_calls")
    if not calls:
        if m.get("content") is None:
            return i, f"message {i}: assistant turn with neither content nor tool calls"
        if nxt not in (None, "user"):
            return i, f"message {i}: an assistant answer must be followed by a user turn, not {nxt}"
        return i + 1, None
    return _results(messages, i, calls, seen)


def _results(
    messages: list[dict[str, Any]], i: int, calls: Any, seen: set[str]
) -> tuple[int, str | None]:
    """The tool messages after the calls at ``i``: exactly one per call id, any order."""
    if not isinstance(calls, list):
        return i, f"message {i}: tool_calls is not a list"
    ids = []
    for k, call in enumerate(calls):
        cid = call.get("id") if isinstance(call, dict) else None
        if not isinstance(cid, str) or not cid:
            return i, f"message {i}: tool call {k} has no id"
        if cid in seen:
            return i, f"message {i}: tool call id {cid!r} is used twice"
        seen.add(cid)
        ids.append(cid)
    pending = set(ids)
    j = i + 1
    while j < len(messages) and messages[j]["role"] == "tool":
        cid = messages[j].get("tool_call_id")
        if not isinstance(cid, str) or cid not in pending:
            what = (
                "answers no call of the preceding assistant turn"
                if cid not in ids
                else ("answers a call that already has a result")
            )
            return j, f"message {j}: tool result {cid!r} {what}"
        pending.discard(cid)
        j += 1
    if pending:
        return j, f"message {i}: no tool result for call {sorted(pending)[0]!r}"
    if j >= len(messages) or messages[j]["role"] != "assistant":
        return j, f"message {j - 1}: tool results must be followed by an assistant turn"
    return j, None
