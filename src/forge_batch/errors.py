"""Domain errors: problems a user can fix.

Core code raises these; only the CLI turns them into click errors. Every
message names the file, the place in it and the problem, on one line, so a
user can act on it without a traceback (``FORGE_BATCH_DEBUG=1`` shows one).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit


class ForgeError(Exception):
    """Base class. ``exit_code`` 2 means bad input; 1 means the run failed; 75 means
    nothing failed but the work must wait: run the same command again later."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        where: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.path = str(path) if path is not None else None
        self.where = where
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [p for p in (self.path, self.where) if p]
        text = ": ".join([*parts, self.message])
        if self.hint:
            text += f" ({self.hint})"
        return one_line(text)


def one_line(text: str) -> str:
    """``text`` safe to print as one terminal line.

    Messages quote user files and paths, which may hold carriage returns,
    U+2028, bidi overrides or escape sequences that clear the screen: every
    character that is not printable becomes its escape (``\\r``, ``\\x1b``,
    ``\\u2028``), and a newline becomes a space.
    """
    if text.isprintable():
        return text
    return "".join(
        c if c.isprintable() else " " if c == "\n" else c.encode("unicode_escape").decode("ascii")
        for c in text
    )


class ConfigError(ForgeError):
    """forge.toml is missing, unreadable, or holds an unknown key or bad value."""


class ToolsError(ForgeError):
    """A tools file cannot be read, or yields no usable tool."""


class InputError(ForgeError):
    """A data file (Batch output, real conversations, cache entry) is malformed."""


class StateError(ForgeError):
    """The ledger or manifest under batches/ is inconsistent or unreadable."""


class EngineError(ForgeError):
    """The Batch API refused a call in a way retrying cannot fix."""

    exit_code = 1


class QuotaHeldError(ForgeError):
    """Other jobs of the organization held the enqueued-token quota past [engine] queue_wait.

    Nothing failed and nothing is lost (the shards stay queued in the ledger):
    exit 75, sysexits' EX_TEMPFAIL, "try again later", so a script or CI can
    tell it from a failed run (1) and from bad input (2) and run again later.
    """

    exit_code = 75


class DiskFullError(ForgeError):
    """A write ran out of space; the partial file was removed."""

    exit_code = 1


def not_utf8(
    error: type[ForgeError], raw: bytes, exc: UnicodeDecodeError, path: str | Path
) -> ForgeError:
    """The error for a file that is not UTF-8: the first bad byte, its offset and line."""
    line = raw.count(b"\n", 0, exc.start) + 1
    return error(
        f"not UTF-8 text: byte 0x{raw[exc.start]:02x} at offset {exc.start}",
        path=path,
        where=f"line {line}",
    )


def json_line_problem(line: bytes, exc: ValueError) -> str:
    """What is wrong with one line of a JSON lines file, in words (for InputError)."""
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as bad:
        return f"not UTF-8 text: byte 0x{line[bad.start]:02x} at column {bad.start + 1}"
    msg, col = getattr(exc, "msg", str(exc)), getattr(exc, "colno", None)
    return f"not a JSON line: {msg}" + (f" at column {col}" if col else "")


def shown_url(url: object) -> str:
    """A URL as a message or log may show it: no ``user:password@`` and no query
    string (either can hold a key), no trailing slash."""
    parts = urlsplit(str(url))
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}{parts.path.rstrip('/')}"
