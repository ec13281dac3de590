"""Output and error file lines, in OpenAI's Batch output format.

Lines are generated lazily from the journal so a 50,000-line batch is written
without holding it in memory; only the shuffle/duplicate faults materialise
the list, since they need to reorder it.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from . import ids
from .faults import Faults, unit
from .journal import is_ok

UNRUN_MESSAGES = {
    "batch_expired": "This request could not be executed before the completion window expired.",
    "batch_cancelled": "This request was not executed because the batch was cancelled.",
}


def line_record(batch_id: str, custom_id: str, status: int, body: dict[str, Any]) -> dict[str, Any]:
    """One finished request: ``response`` holds the HTTP status and body."""
    return {
        "id": ids.derived("batch_req_", batch_id, custom_id, n=32),
        "custom_id": custom_id,
        "response": {
            "status_code": status,
            "request_id": ids.derived("req_", batch_id, custom_id, "request", n=32),
            "body": body,
        },
        "error": None,
    }


def unrun_record(batch_id: str, custom_id: str, code: str) -> dict[str, Any]:
    """A request never run because the batch expired or was cancelled."""
    return {
        "id": ids.derived("batch_req_", batch_id, custom_id, n=32),
        "custom_id": custom_id,
        "response": None,
        "error": {"code": code, "message": UNRUN_MESSAGES[code]},
    }


def dump(records: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    for rec in records:
        yield orjson.dumps(rec) + b"\n"


def arrange(lines: Iterable[bytes], faults: Faults, batch_seq: int, which: str) -> Iterable[bytes]:
    """Apply shuffle_output / duplicate_line; otherwise pass lines through untouched.

    Keyed by the batch's creation number, as line faults are (faults.py): batch ids
    are random, and keyed by them each run shuffled and duplicated differently.
    """
    if not faults.shuffle_output and not (faults.duplicate_line and which == "output"):
        return lines
    items = list(lines)
    rng = random.Random(unit(faults.seed, "arrange", batch_seq, which))
    if faults.shuffle_output:
        rng.shuffle(items)
    if faults.duplicate_line and which == "output" and items:
        picks = rng.sample(range(len(items)), min(faults.duplicate_line, len(items)))
        for copy in [items[i] for i in sorted(picks)]:
            items.insert(rng.randint(0, len(items)), copy)
    return items


def tokens_of(record: dict[str, Any]) -> tuple[int, int]:
    """(prompt, completion) tokens of a successful record; (0, 0) otherwise."""
    if not is_ok(record):
        return 0, 0
    body = record["response"].get("body")
    usage = body.get("usage") if isinstance(body, dict) else None
    if not isinstance(usage, dict):
        return 0, 0
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    return (
        prompt if isinstance(prompt, int) else 0,
        completion if isinstance(completion, int) else 0,
    )


def usage_obj(prompt: int, completion: int) -> dict[str, Any]:
    """Token totals in the Batch object's ``usage`` shape."""
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + completion,
    }
