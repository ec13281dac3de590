"""Check a batch input file the way OpenAI does, and read its requests.

The file is streamed line by line (up to 200 MB; memory holds only the
custom_id set). Blank lines are skipped but still counted, so every error
names the 1-based line a user sees in an editor.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

MAX_LINES = 50_000
MAX_CUSTOM_ID = 64
MAX_ERRORS = 100


@dataclass(slots=True)
class InputCheck:
    """What validation found: request count, the one model, and any errors."""

    total: int = 0
    model: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)


def _err(code: str, message: str, line: int | None, param: str | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "line": line, "param": param}


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if raw.strip():
                yield number, raw


Checked = tuple[dict[str, Any] | None, str, str]


def _bad(code: str, message: str, line: int, param: str | None = None) -> Checked:
    return _err(code, message, line, param), "", ""


def _check_line(raw: bytes, number: int, endpoint: str) -> Checked:
    """Return (error, custom_id, model) for one line."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _bad("invalid_json_line", "This line is not parseable as valid JSON.", number)
    if not isinstance(obj, dict):
        return _bad("invalid_json_line", "This line is not a JSON object.", number)
    cid = obj.get("custom_id")
    if cid is None:
        return _bad("missing_required_parameter", "Missing custom_id.", number, "custom_id")
    if not isinstance(cid, str) or not cid or len(cid) > MAX_CUSTOM_ID:
        msg = f"custom_id must be a non-empty string of at most {MAX_CUSTOM_ID} characters."
        return _bad("invalid_custom_id", msg, number, "custom_id")
    if obj.get("method") != "POST":
        return _bad("invalid_method", "method must be 'POST'.", number, "method")
    if obj.get("url") != endpoint:
        msg = f"url must match the batch endpoint '{endpoint}'."
        return _bad("invalid_url", msg, number, "url")
    body = obj.get("body")
    if not isinstance(body, dict):
        return _bad("invalid_body", "body must be a JSON object.", number, "body")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return _bad("missing_required_parameter", "body.model is required.", number, "body.model")
    return None, cid, model


def check_input(path: Path, endpoint: str) -> InputCheck:
    """Validate every line; collect up to MAX_ERRORS errors."""
    result = InputCheck()
    seen: set[str] = set()
    for number, raw in _lines(path):
        result.total += 1
        if result.total > MAX_LINES:
            msg = f"The input file has more than {MAX_LINES} requests."
            result.errors.append(_err("too_many_requests", msg, number))
            break
        error, cid, model = _check_line(raw, number, endpoint)
        if error is None:
            if cid in seen:
                msg = f"custom_id '{cid}' appears more than once in the file."
                error = _err("duplicate_custom_id", msg, number, "custom_id")
            elif result.model is None:
                result.model = model
            elif model != result.model:
                msg = f"The model '{model}' differs from '{result.model}' on earlier lines."
                error = _err("mismatched_model", msg, number, "body.model")
            seen.add(cid)
        if error is not None:
            result.errors.append(error)
            if len(result.errors) >= MAX_ERRORS:
                break
    if result.total == 0:
        result.errors.append(_err("empty_file", "The input file has no requests.", None))
    return result


def iter_requests(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(custom_id, body) of each request of a file that passed check_input."""
    for _, raw in _lines(path):
        obj = orjson.loads(raw)
        yield obj["custom_id"], obj["body"]
