"""Read a tools file: bounded in size and depth, with errors that name the place.

JSON or JSON lines (BFCL question files), UTF-8 with or without a BOM.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..errors import ToolsError, not_utf8
from ..fsio import read_capped

MAX_FILE_BYTES = 64 * 1024 * 1024
# Deeper JSON than this is refused: no real tool schema comes close, and the
# recursive code downstream (schema checks, strict conversion) must never hit
# Python's recursion limit on a hostile file.
MAX_DEPTH = 64
_TOO_DEEP = object()
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def _too_deep(text: str) -> str | None:
    """'line L column C' where brackets nest deeper than MAX_DEPTH (strings skipped)."""
    depth = 0
    for m in _TOKENS.finditer(text):
        c = m.group()
        if c in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                pos = m.start()
                line, column = text.count("\n", 0, pos) + 1, pos - text.rfind("\n", 0, pos)
                return f"line {line} column {column}"
        elif c in "]}":
            depth -= 1
    return None


def read_json_file(path: Path, what: str = "tools file") -> Any:
    """Parse a JSON (or JSON lines) file with errors that name the place."""
    raw = read_capped(path, MAX_FILE_BYTES, what, ToolsError)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise not_utf8(ToolsError, raw, exc, path) from None
    if not text.strip():
        raise ToolsError(f"{what} is empty", path=path)
    try:
        data = _parse_json(text, path)
    except RecursionError:  # far deeper than MAX_DEPTH; the scan below says where
        data = _TOO_DEEP
    except ValueError as exc:  # not a JSONDecodeError: an integer of over 4300 digits
        raise ToolsError(f"invalid JSON: {str(exc).split(';')[0]}", path=path) from None
    # Scanned only once the text parsed, so every string in it is terminated.
    deep = _too_deep(text)
    if deep or data is _TOO_DEEP:
        raise ToolsError(f"JSON nested deeper than {MAX_DEPTH} levels", path=path, where=deep)
    return data


def _parse_json(text: str, path: Path) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as first:
        if first.msg == "Extra data":  # JSON lines
            items = []
            # split("\n"), not splitlines(): U+2028 and friends are legal inside strings
            for n, line in enumerate(text.split("\n"), 1):
                if line.strip():
                    try:
                        items.append(json.loads(line))
                    except json.JSONDecodeError as exc:
                        raise ToolsError(
                            f"invalid JSON: {exc.msg}",
                            path=path,
                            where=f"line {n} column {exc.colno}",
                        ) from None
            return items
        raise ToolsError(
            f"invalid JSON: {first.msg}",
            path=path,
            where=f"line {first.lineno} column {first.colno}",
        ) from None
