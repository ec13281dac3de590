"""Tell which of the four formats a tool is in, and read it into one shape.

MCP (``inputSchema``), OpenAI (``{"type": "function", "function": ...}`` or a
bare function object), BFCL (``parameters.type == "dict"``) and the Generator
parameter list; the containers they come in (``tools``/``functions`` lists,
BFCL question entries, bare lists) are unwrapped by ``items``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import ToolsError
from .bfcl import bfcl_types, param_list

MAX_DESCRIPTION = 8192
FORMATS = "MCP tools/list, OpenAI tools, BFCL functions and Generator parameter lists"


def items(data: Any, path: Path) -> Iterator[tuple[str, Any]]:
    """Yield (place, raw tool) from any accepted container shape."""
    if isinstance(data, dict):
        for key in ("tools", "functions"):
            if key in data:
                if not isinstance(data[key], list):
                    raise ToolsError(f"'{key}' must be a list of tools", path=path, where=key)
                yield from ((f"{key}[{i}]", t) for i, t in enumerate(data[key]))
                return
        if "function" in data and isinstance(data["function"], list):  # one BFCL entry
            yield from ((f"function[{i}]", t) for i, t in enumerate(data["function"]))
            return
        if "name" not in data and not isinstance(data.get("function"), dict):
            keys = ", ".join(repr(k) for k in list(data)[:5]) or "none"
            raise ToolsError(
                "not a tools file in any known format: no 'tools' or 'functions' list and "
                f"no tool 'name' at the top (keys: {keys})",
                path=path,
                where="(root)",
                hint=f"tried {FORMATS}",
            )
        yield ("(root)", data)
        return
    if isinstance(data, list):
        for i, item in enumerate(data):
            if isinstance(item, dict) and isinstance(item.get("function"), list):
                for j, t in enumerate(item["function"]):  # BFCL question entries
                    yield (f"[{i}].function[{j}]", t)
            else:
                yield (f"[{i}]", item)
        return
    raise ToolsError(
        f"expected a JSON object with 'tools' or a list of tools, got {type(data).__name__}",
        path=path,
        where="(root)",
        hint=f"tried {FORMATS}",
    )


def normalize(raw: Any, where: str) -> tuple[str, str, str, dict, dict | None]:
    """-> (format, name, description, parameters, output schema)."""
    if not isinstance(raw, dict):
        raise ToolsError(f"a tool must be a JSON object, got {type(raw).__name__}", where=where)
    fmt = "mcp"
    if raw.get("type") == "function" and isinstance(raw.get("function"), dict):
        raw, fmt = raw["function"], "openai"
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ToolsError("tool has no 'name'", where=where)
    desc = raw.get("description") or ""
    if not isinstance(desc, str):
        raise ToolsError("'description' must be a string", where=f"{where}.description")
    if len(desc) > MAX_DESCRIPTION:
        raise ToolsError(
            f"description of {name!r} is {len(desc)} characters; the limit is {MAX_DESCRIPTION}",
            where=f"{where}.description",
        )
    output = None
    if "inputSchema" in raw:
        bad = None if isinstance(raw["inputSchema"], dict) else "inputSchema"
    else:  # a list is the Generator format
        bad = None if isinstance(raw.get("parameters", {}), dict | list) else "parameters"
    if bad:
        raise ToolsError(
            f"'{bad}' must be a JSON object, got {type(raw[bad]).__name__}",
            where=f"{where}.{bad}",
        )
    if "inputSchema" in raw:
        params = raw["inputSchema"]
        output = raw.get("outputSchema")
    elif isinstance(raw.get("parameters"), list):
        fmt = "generator"
        params = param_list(raw["parameters"], where)
        if isinstance(raw.get("returns"), dict):
            output = bfcl_types(raw["returns"], f"{where}.returns")
    elif isinstance(raw.get("parameters"), dict):
        params = raw["parameters"]
        if params.get("type") == "dict":
            fmt = "bfcl"
            params = bfcl_types(params, f"{where}.parameters")
        elif fmt == "mcp":
            fmt = "openai"
    elif "parameters" not in raw and "inputSchema" not in raw and fmt == "openai":
        params = {"type": "object", "properties": {}}
    else:
        raise ToolsError(
            f"cannot tell the format of tool {name!r}: expected inputSchema (MCP), "
            "function.parameters (OpenAI), parameters of type 'dict' (BFCL) or a "
            "parameters list (Generator)",
            where=where,
        )
    if not isinstance(params, dict):
        raise ToolsError("parameters must be a JSON object", where=where)
    if output is not None and not isinstance(output, dict):
        output = None
    return fmt, name, desc, params, output
