"""Progress on stderr (data goes to stdout): bars on a terminal, status lines elsewhere.

A job started under nohup, cron or CI has no terminal: bars are off there, and
a batch can take hours, so ``Heartbeat`` prints one timestamped line per phase
and, while waiting, at most one every 30 s, so the log shows the job is alive.
FORGE_BATCH_PROGRESS=1 forces bars, =0 silences both.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TextIO, TypeVar

import click

T = TypeVar("T")


def enabled() -> bool:
    if os.environ.get("FORGE_BATCH_PROGRESS") == "1":
        return True
    return sys.stderr.isatty() and os.environ.get("FORGE_BATCH_PROGRESS") != "0"


def track(items: Iterable[T], label: str, length: int | None = None) -> Iterator[T]:
    """Iterate ``items`` with a progress bar on stderr when one is wanted."""
    if not enabled():
        yield from items
        return
    with click.progressbar(
        items,
        length=length,
        label=label,
        file=sys.stderr,
        show_pos=True,
        show_eta=length is not None,
    ) as bar:
        yield from bar


def stamped(text: str) -> str:
    """``text`` behind the UTC time, as every status line on stderr reads (log order = time)."""
    return f"[{time.strftime('%H:%M:%S', time.gmtime())} UTC] {text}"


def lines_wanted() -> bool:
    """Status lines instead of bars: stderr is not a terminal and progress is not off."""
    return not enabled() and os.environ.get("FORGE_BATCH_PROGRESS") != "0"


class Heartbeat:
    """Timestamped status lines on stderr for runs without a terminal."""

    def __init__(
        self,
        every: float = 30.0,
        *,
        active: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        stream: TextIO | None = None,
    ) -> None:
        self.every, self.clock = every, clock
        self.active = lines_wanted() if active is None else active
        self.stream = stream
        self.last: float | None = None

    def _print(self, text: str) -> None:
        click.echo(stamped(text), file=self.stream or sys.stderr)
        self.last = self.clock()

    def phase(self, text: str) -> None:
        """A new phase: always one line."""
        if self.active:
            self._print(text)

    def tick(self, text: Callable[[], str]) -> None:
        """While waiting: a line when ``every`` seconds passed since the last one."""
        if self.active and (self.last is None or self.clock() - self.last >= self.every):
            self._print(text())
