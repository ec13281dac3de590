"""Enqueued-token pacing: create batches only while the organization's cap allows.

OpenAI caps the tokens an organization may have enqueued per model (2M on low
tiers for the small models); a batch past the cap is created and then fails
validation with ``token_limit_exceeded``. That is no fault of its requests, so
it is not an attempt: the shard goes back to the queue and is submitted again
when earlier batches have finished. With ``[engine] enqueued_token_limit`` set,
submit creates a batch only while the estimated tokens of the batches in
flight plus its own fit, and keeps the rest "queued" in the ledger, in order.

A shard's tokens are estimated as its bytes / 4 (context.CHARS_PER_TOKEN): the
whole input line, so the estimate errs high.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .context import CHARS_PER_TOKEN

TOKEN_LIMIT_CODE = "token_limit_exceeded"


def tokens(shard_bytes: int) -> int:
    """Estimated enqueued tokens of a shard of ``shard_bytes`` bytes."""
    return -(-shard_bytes // CHARS_PER_TOKEN)


def fits(limit: int | None, enqueued: int, shard_tokens: int) -> bool:
    """May a batch of ``shard_tokens`` be created with ``enqueued`` tokens in flight?

    Nothing in flight always fits (prepare keeps every shard under the limit,
    and a larger one could otherwise never be sent).
    """
    return limit is None or enqueued == 0 or enqueued + shard_tokens <= limit


def token_limited(errors: Iterable[Any] | None) -> bool:
    """True when a batch's validation errors include token_limit_exceeded."""
    for error in errors or ():
        code = error.get("code") if isinstance(error, dict) else getattr(error, "code", None)
        if code == TOKEN_LIMIT_CODE:
            return True
    return False


def max_shard_bytes(limit: int | None, max_bytes: int) -> int:
    """Shard size cap: a shard must fit the enqueued limit on its own."""
    return max_bytes if limit is None else max(1024, min(max_bytes, limit * CHARS_PER_TOKEN))
