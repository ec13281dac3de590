"""Ctrl-C while the local engine finishes its current request: say so, and let a second one force.

Why: the local model runs in native threads (xllamacpp) inside this process.
The first Ctrl-C stops the embedded server after the request in progress,
which can take seconds, and used to print nothing meanwhile. A second Ctrl-C
then unwound the interpreter while the model's threads were still running,
and the process died of SIGSEGV (2 of 2 tries, issue 13 item 2).

Now the first Ctrl-C says at once what it waits for, and a second one ends the
process with ``os._exit(130)``: no interpreter teardown, so nothing is
destroyed under the model's threads. Forcing is as safe as a SIGKILL, which
the kill tests cover: every state file is written atomically, the ledger is
saved before each step, and the server's journal resumes the interrupted
batch on the next run (the request in progress is run again).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

WAITING = "stopping after the current request; Ctrl-C again to force"
FORCED = "forced stop; rerun the same command to resume"
EXIT_CODE = 130  # 128 + SIGINT, what a shell reports for Ctrl-C


def _say(text: str) -> None:
    with contextlib.suppress(Exception):
        sys.stderr.write(f"{text}\n")
        sys.stderr.flush()


def _force(signum: int, frame: Any) -> None:
    _say(FORCED)
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    os._exit(EXIT_CODE)


@contextlib.contextmanager
def second_forces(message: str = WAITING, *, restore: bool = True) -> Iterator[None]:
    """Within this block (a slow stop after a first Ctrl-C), a second Ctrl-C exits at once.

    ``message`` is printed on entry. Outside the main thread signals cannot be
    handled, so the block only prints. With ``restore=False`` the forcing handler
    stays after the block: the process is on its way out, and a second Ctrl-C
    that lands while it exits must still end it with 130, not kill it by SIGINT.
    """
    _say(message)
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, _force)
    try:
        yield
    finally:
        if restore:
            signal.signal(signal.SIGINT, previous)
