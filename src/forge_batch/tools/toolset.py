"""Load a tools file into a ToolSet: detect, normalize, validate, strict-convert."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from ..errors import ToolsError
from . import strict
from .detect import items, normalize
from .model import Skipped, Tool, ToolSet
from .reading import read_json_file
from .schema import schema_problem

if TYPE_CHECKING:
    from ..config import Config

NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def export_name(name: str, taken: set[str]) -> str:
    """A valid OpenAI function name for ``name``, unique within ``taken``."""
    base = re.sub(r"[^a-zA-Z0-9_-]", "_", name)[:64] or "tool"
    candidate, n = base, 2
    while candidate in taken:
        suffix = f"_{n}"
        candidate, n = base[: 64 - len(suffix)] + suffix, n + 1
    return candidate


def parse_tools(data: Any, path: Path) -> ToolSet:
    """Normalize parsed JSON into a ToolSet (see module docstring)."""
    seen: dict[str, tuple[str, dict]] = {}
    formats: set[str] = set()
    tools: list[Tool] = []
    skipped: list[Skipped] = []
    taken: set[str] = set()
    for where, raw in items(data, path):
        try:
            orjson.dumps(raw)  # what prompts and request keys will do with it
        except orjson.JSONEncodeError as exc:
            hint = (
                "a lone \\ud800-\\udfff escape"
                if "surrogate" in str(exc)
                else "JSON APIs take integers of at most 64 bits"
                if "Integer" in str(exc)
                else None
            )
            raise ToolsError(
                f"holds a value that cannot be sent as JSON: {exc}",
                path=path,
                where=where,
                hint=hint,
            ) from None
        try:
            fmt, name, desc, params, output = normalize(raw, where)
        except ToolsError as exc:
            exc.path = str(path)
            raise
        formats.add(fmt)
        definition = {"description": desc, "parameters": params}
        if name in seen:
            first_where, first_def = seen[name]
            if first_def == definition:
                continue  # BFCL files repeat the same function across questions
            raise ToolsError(
                f"duplicate tool name {name!r} (first at {first_where})",
                path=path,
                where=f"{where}.name",
            )
        seen[name] = (where, definition)
        problem = schema_problem(params)
        if problem:
            skipped.append(Skipped(name, where, problem))
            continue
        try:
            conv = strict.convert(params)
        except strict.Unconvertible as exc:
            skipped.append(Skipped(name, where, str(exc)))
            continue
        notes = list(conv.notes)
        exported = name if NAME_RE.match(name) and name not in taken else export_name(name, taken)
        if exported != name:
            notes.insert(
                0, f"name {name!r} is not a valid OpenAI function name; exported as {exported!r}"
            )
        taken.add(exported)
        if output is not None and schema_problem(output):
            notes.append("outputSchema is not valid JSON Schema; ignored")
            output = None
        tools.append(
            Tool(
                name, exported, desc.strip(), params, output, conv.schema, conv.codec, tuple(notes)
            )
        )
    fmt = "+".join(sorted(formats)) or "unknown"
    return ToolSet(path, fmt, tuple(tools), tuple(skipped))


def load_tools(path: str | Path, *, require: bool = True) -> ToolSet:
    """Read a tools file; with ``require``, a set with no usable tool is an error."""
    path = Path(path)
    toolset = parse_tools(read_json_file(path), path)
    if require and not toolset.tools:
        if toolset.skipped:
            first = toolset.skipped[0]
            raise ToolsError(
                f"no usable tool ({len(toolset.skipped)} skipped); {first.name!r}: {first.reason}",
                path=path,
                where=first.where,
            )
        raise ToolsError("no tools in the file", path=path)
    return toolset


def project_tools(config: Config) -> ToolSet:
    """The tools file forge.toml names; when it is missing, say which key named it."""
    try:
        return load_tools(config.paths.tools)
    except ToolsError as exc:
        if not os.path.isfile(config.paths.tools):
            exc.hint = exc.hint or f"named by 'tools' in {config.path}"
        raise
