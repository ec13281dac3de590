"""Curated conversations listed as ``real`` in forge.toml, read and shape-checked.

Every command that writes reads them through first (``check_real``), so a bad
file stops it before anything is sent or written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from .config import Config
from .errors import InputError
from .fsio import json_lines, open_regular
from .records import REAL, Sample


def real_scenario(messages: list[dict[str, Any]]) -> str:
    calls = [m for m in messages if m.get("tool_calls")]
    if not calls:
        return "no_tool"
    return "parallel" if any(len(m["tool_calls"]) > 1 for m in calls) else "standard"


def _real_problem(data: Any) -> tuple[str, str] | None:
    """(place, problem) of a real record whose shape the checks cannot judge."""
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
        return "", "expected an object with a 'messages' list"
    for i, m in enumerate(data["messages"]):
        if not isinstance(m, dict):
            return f"messages[{i}]", f"a message must be an object, got {type(m).__name__}"
        if not isinstance(m.get("content"), str | None):
            return f"messages[{i}].content", "must be a string or null (content parts unsupported)"
        calls = m.get("tool_calls")
        if calls is not None and not (
            isinstance(calls, list) and all(isinstance(c, dict) for c in calls)
        ):
            return f"messages[{i}].tool_calls", "must be a list of objects"
    if data.get("meta") is not None and not isinstance(data["meta"], dict):
        return "meta", f"must be an object, got {type(data['meta']).__name__}"
    tools = data.get("tools")
    if tools is not None and not (
        isinstance(tools, list) and all(isinstance(t, dict) for t in tools)
    ):
        return "tools", "must be a list of objects (OpenAI tools)"
    tool = (data.get("meta") or {}).get("tool")  # the report counts by it
    if tool is not None and not isinstance(tool, str):
        return "meta.tool", f"must be a string, got {type(tool).__name__}"
    return None


def real_samples(paths: tuple[Path, ...]) -> Iterator[Sample]:
    """Curated conversations (dataset records or OpenAI fine-tuning lines)."""
    for sample, _ in real_records(paths):
        yield sample


def real_records(paths: tuple[Path, ...]) -> Iterator[tuple[Sample, bool]]:
    """Each curated conversation and whether its record names its scenario (the judge
    grades an unlabelled one on whether its calls fit the request alone)."""
    for path in paths:
        with open_regular(path, "real data file", InputError) as fh:
            for n, data in json_lines(fh, path, InputError):
                problem = _real_problem(data)
                if problem is not None:
                    place = f"line {n}" + (f" {problem[0]}" if problem[0] else "")
                    raise InputError(problem[1], path=path, where=place)
                messages = data["messages"]
                digest = hashlib.sha256(orjson.dumps(messages, option=orjson.OPT_SORT_KEYS))
                meta = {
                    "request_key": None,
                    "parent": None,
                    "file": path.name,
                    "line": n,
                    **(data.get("meta") or {}),
                }
                sample = Sample(
                    str(data.get("id") or "real-" + digest.hexdigest()[:16]),
                    REAL,
                    str(data.get("scenario") or real_scenario(messages)),
                    messages,
                    list(data.get("tools") or []),
                    meta,
                )
                yield sample, bool(data.get("scenario"))


def check_real(config: Config) -> None:
    """Read every ``real`` file through, so a bad one fails before anything is written."""
    for i, path in enumerate(config.real):
        try:
            for _ in real_samples((path,)):
                pass
        except InputError as exc:
            exc.hint = exc.hint or f"listed as real[{i}] in {config.path.name}"
            raise
