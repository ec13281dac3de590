"""LLaMA-Factory ShareGPT: {"conversations", "system", "tools", "id", "meta"}.

Turns use LLaMA-Factory's tags: ``human`` (user), ``function_call`` (an
assistant turn that calls tools), ``observation`` (the results), ``gpt``
(assistant text). LLaMA-Factory wants human/observation at odd positions and
gpt/function_call at even ones, so each call turn is one ``function_call``
followed by one ``observation``:

- function_call value: ``{"name", "arguments": {...}}`` as a JSON string; for
  parallel calls a JSON list of such objects, which LLaMA-Factory's
  FunctionFormatter accepts ("if not a list: [tool_call]") and renders with
  the template's own call syntax.
- observation value: the tool's text for one result; for several, a JSON list
  of the results in the order of the calls they answer, matched by
  ``tool_call_id`` (LLaMA-Factory pairs the n-th result with the n-th call;
  results stored in arrival order would pair with the wrong call); objects
  decoded, other text as strings. A
  list stays template-neutral, where LLaMA-Factory's own OpenAI converter
  joins results with Qwen-only "</tool_response><tool_response>" markers.
- an assistant turn with both text and calls keeps only the calls (the
  format has no slot for both; our samples never have both).

``tools`` is a JSON string of bare function objects {name, description,
parameters}: what glaive_toolcall and older LLaMA-Factory expect, and newer
versions unwrap {"type": "function"} entries to the same thing. ``system`` is
always present ("" when the record has none) so every row has the same columns;
the format has one system slot, so every ``system`` and ``developer`` message
of the record is merged into it, in order, joined by a blank line (a
``developer`` turn left in ``conversations`` would break the human/gpt
alternation and LLaMA-Factory would drop the row);
map it in dataset_info.json with ``"system": "system"``. ``meta`` is a JSON
string (see common.meta_text). All columns are strings or lists of string
pairs, so the file loads with any ``datasets`` version.
"""

from __future__ import annotations

from typing import Any

from .common import (
    Record,
    Row,
    arguments,
    functions,
    messages_of,
    provenance,
    result_value,
    split_system,
    text_json,
)


def _calls_value(calls: list[dict[str, Any]]) -> str:
    items = [{"name": c["function"]["name"], "arguments": arguments(c)} for c in calls]
    return text_json(items[0] if len(items) == 1 else items)


def _results_value(results: list[Any]) -> str:
    if len(results) == 1:
        content = results[0]
        return content if isinstance(content, str) else text_json(content)
    return text_json([result_value(r) for r in results])


def convert(record: Record, minimal: bool = False) -> Row:
    """One record -> one LLaMA-Factory ShareGPT row; ``minimal`` leaves out ``meta``."""
    system, messages = split_system(messages_of(record))
    turns: list[dict[str, str]] = []
    results: list[Any] = []
    for m in messages:
        if m.get("role") == "tool":
            results.append(m.get("content") if m.get("content") is not None else "")
            continue
        if results:
            turns.append({"from": "observation", "value": _results_value(results)})
            results = []
        if m.get("tool_calls"):
            turns.append({"from": "function_call", "value": _calls_value(m["tool_calls"])})
        else:
            tag = "human" if m.get("role") == "user" else "gpt"
            turns.append({"from": tag, "value": m.get("content") or ""})
    if results:
        turns.append({"from": "observation", "value": _results_value(results)})
    return {
        "conversations": turns,
        "system": system,
        "tools": text_json(functions(record)),
        **provenance(record, minimal),
    }
