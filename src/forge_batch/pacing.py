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

import math
from collections.abc import Callable, Iterable
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


class Hold:
    """When to try again a shard the API refused for the enqueued-token cap.

    While one of our batches is in flight, or one ended since the refused
    attempt, a refusal may be ours to wait out: the shard is tried again as
    soon as one of them ends (``ended``) or none is left (``idle``). Otherwise
    other jobs of the organization hold the quota and our own batches cannot
    free it: retries back off (``patience`` / 64 after the first refusal,
    doubling up to ``patience`` / 4, so about eight tries in all whatever the
    patience), the last one at ``patience`` seconds, and a refusal then makes
    ``expired`` true: the caller stops, the shards stay queued for a later run.
    """

    def __init__(self, patience: float, clock: Callable[[], float]) -> None:
        self.patience, self.clock = patience, clock
        self.since: float | None = None  # blocked by others since (none of ours in flight)
        self.retry_at: float | None = None  # None: not held; inf: until one of ours ends
        self.delay = 0.0
        self.expired = False

    def refused(self, ours_in_flight: bool) -> None:
        """A batch of ours was refused for the cap just now."""
        now = self.clock()
        if ours_in_flight:
            self.retry_at = math.inf
            return
        if self.since is None:
            self.since, self.delay = now, self.patience / 64
        else:
            self.delay = min(self.delay * 2, self.patience / 4)
        self.expired = now - self.since >= self.patience
        self.retry_at = min(now + self.delay, self.since + self.patience)

    def ended(self) -> None:
        """One of our batches ended: room may have come free, try again now."""
        self.since = self.retry_at = None

    def idle(self) -> None:
        """None of our batches is in flight: a wait for one of them to end is over."""
        if self.retry_at is not None and math.isinf(self.retry_at):
            self.retry_at = None

    def held(self) -> bool:
        """True while queued shards should not be tried again yet."""
        return self.retry_at is not None and self.clock() < self.retry_at

    def pause(self) -> float | None:
        """Seconds until the next try while blocked by others, else None (poll as usual)."""
        if self.since is None or self.retry_at is None or math.isinf(self.retry_at):
            return None
        return max(0.0, self.retry_at - self.clock())

    def waited(self) -> float:
        """Seconds spent blocked by other jobs so far (0 when not blocked)."""
        return 0.0 if self.since is None else self.clock() - self.since
