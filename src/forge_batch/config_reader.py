"""Reading forge.toml: the bounded read and parse, typed values, checked paths.

Everything here turns a problem into a ConfigError that names the file and the
key: the file itself (not a regular file, too big, not UTF-8, not TOML, nested
deeper than any forge.toml needs), a value of the wrong type or range, and a
working folder that cannot be one (outside the project, a file in the way, a
symlink loop, a name too long), checked before any command takes a lock or
creates a folder. config.py says which keys exist; this says how they are read.
"""

from __future__ import annotations

import difflib
import math
import os
import tomllib
from pathlib import Path
from typing import Any

from .errors import ConfigError, not_utf8
from .fsio import folder_problem, read_capped

# forge.toml is a few hundred bytes; these bound what a hostile one can cost.
MAX_CONFIG_BYTES = 1024 * 1024
MAX_DEPTH = 16


def read_toml(path: Path) -> dict[str, Any]:
    """forge.toml parsed: a regular file of at most MAX_CONFIG_BYTES, nested at most MAX_DEPTH."""
    try:
        raw = read_capped(path, MAX_CONFIG_BYTES, "config file", ConfigError)
    except ConfigError as exc:
        if exc.message.endswith("not found"):
            exc.hint = "create one with: forge-batch init --tools TOOLS.json"
        raise
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise not_utf8(ConfigError, raw, exc, path) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", path=path) from None
    except RecursionError:  # tomllib recurses once per level of [ or {
        data = None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise ConfigError(f"invalid TOML: {str(exc).split(';')[0]}", path=path) from None
    if data is None or nested_too_deep(data):
        raise ConfigError(f"TOML nested deeper than {MAX_DEPTH} levels", path=path)
    return data


def nested_too_deep(data: Any, limit: int = MAX_DEPTH) -> bool:
    """Do lists and tables nest deeper than ``limit``? (iterative: no recursion to exhaust)"""
    stack = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


class Reader:
    """Pulls typed values out of a TOML table, naming the key on any problem."""

    def __init__(self, path: Path, table: dict[str, Any], prefix: str = "") -> None:
        self.path, self.table, self.prefix = path, table, prefix

    def fail(self, key: str, message: str, hint: str | None = None) -> ConfigError:
        return ConfigError(message, path=self.path, where=self.prefix + key, hint=hint)

    def check_keys(self, known: list[str] | tuple[str, ...] | dict[str, Any]) -> None:
        for key in self.table:
            if key not in known:
                close = difflib.get_close_matches(key, list(known), n=1)
                hint = f"did you mean '{close[0]}'?" if close else "known keys: " + ", ".join(known)
                raise self.fail(key, "unknown key", hint)

    def get(self, key: str, kind: type | tuple[type, ...], default: Any) -> Any:
        if key not in self.table:
            return default
        value = self.table[key]
        if kind in (int, (int, float)) and isinstance(value, bool):
            raise self.fail(key, f"expected a number, got {value!r}")
        if not isinstance(value, kind):
            want = kind.__name__ if isinstance(kind, type) else "number"
            want = {
                "str": "a string",
                "int": "an integer",
                "bool": "true or false",
                "dict": "a table",
                "list": "a list",
            }.get(want, want)
            raise self.fail(key, f"expected {want}, got {type(value).__name__} {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(key, f"expected a finite number, got {value!r}")
        return value

    def number(self, key: str, default: float, lo: float, hi: float | None = None) -> float:
        value = float(self.get(key, (int, float), default))
        if value < lo or (hi is not None and value > hi):
            rng = f"between {lo:g} and {hi:g}" if hi is not None else f"at least {lo:g}"
            raise self.fail(key, f"must be {rng}, got {value:g}")
        return value

    def integer(self, key: str, default: int, lo: int, hi: int | None = None) -> int:
        value = int(self.get(key, int, default))
        if value < lo or (hi is not None and value > hi):
            rng = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
            raise self.fail(key, f"must be {rng}, got {value}")
        return value

    def sub(self, key: str) -> Reader:
        return Reader(self.path, self.get(key, dict, {}), f"{self.prefix}{key}.")


def inside(root: Path, rel: str, reader: Reader, key: str) -> Path:
    """Working folders must stay inside the project: never write elsewhere.

    They are also checked to be usable as folders now (no file in the way, no
    symlink loop, no name too long), so a bad one fails before any lock or
    folder is created.
    """
    if "\x00" in rel or not rel.strip():
        raise reader.fail(key, f"not a usable path: {rel!r}")
    candidate = Path(rel)
    if candidate.is_absolute():
        raise reader.fail(key, f"must be a path inside the project folder, got {rel!r}")
    resolved = _resolve(root / candidate)
    if resolved is None:
        raise reader.fail(key, f"cannot use {rel!r} as a folder: symlink loop")
    if resolved != root and root not in resolved.parents:
        raise reader.fail(key, f"points outside the project folder {root}: {rel!r}")
    problem = folder_problem(resolved)
    if problem:
        raise reader.fail(key, f"cannot use {rel!r} as a folder: {problem}")
    return resolved


def _resolve(path: Path) -> Path | None:
    """``path.resolve()``, or None for a symlink loop (which Python 3.11 raises)."""
    try:
        return path.resolve()
    except (RuntimeError, OSError):
        return None


def user_path(root: Path, rel: str) -> Path:
    """A file path from forge.toml, resolved when it can be (its reader names any problem)."""
    return _resolve(root / rel) or Path(os.path.abspath(root / rel))
