"""What every forge-batch command shares: error mapping, the config option, poll interval.

Core code raises domain errors (errors.py); ``handle_errors`` is the one place
they become a one-line ``Error: ...`` and an exit code (2 for bad input, 1 for
a failed run), and where an unforeseen unusable path (OSError) gets the same
treatment. ``-c/--config`` is accepted before the command (the group option)
and after it (``config_option``), with the same meaning.
"""

from __future__ import annotations

import errno
import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from . import config as config_mod
from . import interrupt
from .errors import ForgeError, one_line
from .fsio import path_problem

F = TypeVar("F", bound=Callable[..., Any])
# OSErrors that mean "this path is unusable" (bad input, exit 2), not a failed run.
PATH_ERRNOS = (errno.ENOTDIR, errno.EISDIR, errno.ELOOP, errno.ENAMETOOLONG, errno.EACCES)


class ForgeClickError(click.ClickException):
    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def handle_errors(fn: F) -> F:
    """Map ForgeError to a one-line click error (unless FORGE_BATCH_DEBUG is set)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ForgeError as exc:
            if os.environ.get("FORGE_BATCH_DEBUG"):
                raise
            raise ForgeClickError(str(exc), exc.exit_code) from None
        except OSError as exc:  # a path the checks up front did not foresee
            if exc.errno not in PATH_ERRNOS or os.environ.get("FORGE_BATCH_DEBUG"):
                raise
            text = f"{exc.filename}: {path_problem(exc)}" if exc.filename else path_problem(exc)
            raise ForgeClickError(one_line(text), 2) from None
        except KeyboardInterrupt:
            click.echo("interrupted; rerun the same command to resume", err=True)
            interrupt.exit_interrupted()  # 130

    return wrapper  # type: ignore[return-value]


def load_config(ctx: click.Context) -> config_mod.Config:
    return config_mod.load(ctx.find_root().obj["config"])


def _set_config(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    if value is not None:  # after the command: the same as before it
        ctx.find_root().obj["config"] = value


CONFIG_HELP = "The job file; working folders are relative to it."
# ``-c`` is accepted after the command too (``forge-batch prepare -c forge.toml``).
config_option = click.option(
    "-c",
    "--config",
    type=click.Path(path_type=Path),
    default=None,
    expose_value=False,
    is_eager=True,
    callback=_set_config,
    help="The job file (also accepted before the command).",
)


poll_interval_option = click.option(
    "--poll-interval",
    type=click.FloatRange(min=0),
    default=None,
    help="Seconds between polls (default: [engine] poll_interval).",
)
