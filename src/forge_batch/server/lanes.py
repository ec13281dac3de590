"""Lanes: how many lines of a batch run at once.

The local model runs one line at a time in the worker thread (it already uses
every core). An executor that talks to a model server (the relay) declares a
``concurrency``: that many lines are sent at once, since the server batches
them on its GPUs. Either way the worker alone writes the journal.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any


class Interrupted(Exception):
    """The executor gave up a line because the server is stopping.

    The line is not journaled: it was never answered, so it runs on resume.
    """


def concurrency_of(executor: Any) -> int:
    """Lines the executor takes at once: its ``concurrency`` attribute, else 1.

    The local model runs one line at a time (it already uses every core); a
    relay to a model server sends several, since the server batches them.
    """
    value = getattr(executor, "concurrency", 1)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 1 else 1


class Lanes:
    """Runs lines in this thread (one lane) or up to ``n`` at once in a thread pool.

    Results come back from ``submit`` and ``drain`` in the order they finish;
    the caller journals them from its own thread, so the journal has one writer.
    """

    def __init__(self, run: Callable[..., dict[str, Any]], n: int) -> None:
        self.run, self.n = run, n
        self.pool = ThreadPoolExecutor(n, thread_name_prefix="forge-batch-line") if n > 1 else None
        self.pending: set[Future[dict[str, Any]]] = set()

    @property
    def in_flight(self) -> int:
        return len(self.pending)

    def submit(self, *args: Any) -> list[dict[str, Any]]:
        """Start a line; return the lines finished meanwhile (waiting when all lanes are busy)."""
        if self.pool is None:
            try:
                return [self.run(*args)]
            except Interrupted:
                return []
        self.pending.add(self.pool.submit(self.run, *args))
        finished, self.pending = wait(self.pending, timeout=0, return_when=FIRST_COMPLETED)
        if len(self.pending) >= self.n:
            more, self.pending = wait(self.pending, return_when=FIRST_COMPLETED)
            finished |= more
        return _results(finished)

    def drain(self) -> list[dict[str, Any]]:
        """Wait for every line in flight."""
        finished = wait(self.pending).done
        self.pending = set()
        return _results(finished)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)


def _results(finished: set[Future[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The finished lines' records, leaving out lines interrupted by a stop."""
    out = []
    for future in finished:
        with contextlib.suppress(Interrupted):
            out.append(future.result())
    return out
