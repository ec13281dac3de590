"""Exports of out/dataset.jsonl to the formats people train on.

``export`` streams the dataset line by line (flat memory) through one
converter and writes the result atomically: the output is complete or absent.
Each converter maps one record (a dict as in out/dataset.jsonl) to one row;
its module docstring says what the target expects and which choices that forced.

| format   | shape                                   | id / meta                    |
| -------- | --------------------------------------- | ---------------------------- |
| openai   | messages, tools, parallel_tool_calls    | never (upload rejects extras) |
| trl      | messages (arguments as dicts), tools str | id; meta str unless minimal  |
|          | (loads with datasets >= 4.7 only)       |                              |
| hermes   | text (ChatML)                           | id; meta str unless minimal  |
| sharegpt | conversations, system, tools str        | id; meta str unless minimal  |
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import orjson

from ..errors import InputError
from ..fsio import atomic_writer, open_regular, write_problem
from . import hermes, openai_ft, sharegpt, trl
from .common import Record, Row
from .hermes import Turn, parse_hermes

Converter = Callable[[Record, bool], Row]

FORMATS: dict[str, Converter] = {
    "openai": openai_ft.convert,
    "trl": trl.convert,
    "hermes": hermes.convert,
    "sharegpt": sharegpt.convert,
}

__all__ = ["FORMATS", "Turn", "convert", "export", "parse_hermes"]


def convert(record: Record, fmt: str, minimal: bool = False) -> Row:
    """One dataset record -> one row of ``fmt``."""
    return _converter(fmt)(record, minimal)


def _converter(fmt: str) -> Converter:
    try:
        return FORMATS[fmt]
    except KeyError:
        raise InputError(
            f"unknown export format {fmt!r}", hint="one of: " + ", ".join(FORMATS)
        ) from None


def export(dataset_path: str | Path, out_path: str | Path, fmt: str, minimal: bool = False) -> int:
    """Convert every record of ``dataset_path`` to ``fmt`` in ``out_path``; return the count.

    A malformed line stops the export with an InputError naming the line; the
    output file is then left as it was (or absent), never half written.
    """
    convert_one = _converter(fmt)
    dataset_path = Path(dataset_path)
    if os.path.isdir(out_path):
        raise InputError("is a folder; give a file name to write", path=out_path)
    problem = write_problem(out_path)
    if problem:
        raise InputError(f"cannot write the export: {problem}", path=out_path)
    try:
        # a regular file only: a FIFO would hang, /dev/zero never ends
        src = open_regular(dataset_path, "dataset file", InputError)
    except InputError as exc:
        if exc.message.endswith("not found"):
            exc.hint = "run 'forge-batch collect' first, or pass --input"
        raise
    count = 0
    with src, atomic_writer(out_path) as out:
        for n, line in enumerate(src, 1):
            if not line.strip():
                continue
            try:
                row = convert_one(orjson.loads(line), minimal)
                out.write(orjson.dumps(row) + b"\n")
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                what = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
                raise InputError(
                    f"cannot convert to {fmt}: {what}", path=dataset_path, where=f"line {n}"
                ) from None
            count += 1
    return count
