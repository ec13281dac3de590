"""Progress bars on stderr (data goes to stdout), quiet when stderr is not a terminal."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

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
