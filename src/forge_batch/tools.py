"""Load tool sets in the formats people already have, normalized to one Tool.

Accepted without being told which: an MCP ``tools/list`` result or a bare list
of MCP tools; OpenAI tools (``{"type": "function", "function": ...}``) or bare
function objects; BFCL functions (``parameters.type == "dict"``, types
``float``/``tuple``/``any``; also BFCL question files with a ``function`` list,
as JSON or JSON lines); and the Generator tool's parameter-list format.

Problems with the file itself (not JSON, wrong shape, duplicate names) are a
ToolsError that names the file and the place. A tool whose schema has no strict
form is skipped with the reason; a set with no usable tool is an error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema
import orjson

from . import strict
from .errors import ToolsError, not_utf8

if TYPE_CHECKING:
    from .config import Config

NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_DESCRIPTION = 8192
# Deeper JSON than this is refused: no real tool schema comes close, and the
# recursive code downstream (schema checks, strict conversion) must never hit
# Python's recursion limit on a hostile file.
MAX_DEPTH = 64
_TOO_DEEP = object()
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
ONE_LINE = 160

# Type names seen in BFCL and Generator files -> JSON Schema.
TYPE_ALIASES: dict[str, Any] = {
    "dict": "object",
    "object": "object",
    "hashmap": "object",
    "map": "object",
    "float": "number",
    "double": "number",
    "number": "number",
    "int": "integer",
    "integer": "integer",
    "long": "integer",
    "str": "string",
    "string": "string",
    "char": "string",
    "bool": "boolean",
    "boolean": "boolean",
    "list": "array",
    "array": "array",
    "tuple": "array",
    "arraylist": "array",
    "any": None,
    "null": "null",
}


@dataclass(frozen=True, slots=True, eq=False)
class Tool:
    """One tool: its original schema (for checks and export) and its strict form."""

    name: str  # as the source spells it
    export_name: str  # a valid OpenAI function name (usually the same)
    description: str
    parameters: dict[str, Any]  # normalized JSON Schema, original meaning
    output_schema: dict[str, Any] | None
    strict: dict[str, Any]  # strict Structured Outputs form of parameters
    codec: strict.Codec
    notes: tuple[str, ...] = ()

    def openai(self) -> dict[str, Any]:
        """OpenAI tools entry with the original (unconverted) parameters."""
        return {
            "type": "function",
            "function": {
                "name": self.export_name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }

    def one_line(self) -> str:
        """First sentence of the description, for tool catalogs in prompts."""
        text = " ".join(self.description.split())
        for stop in (". ", "\n"):
            if stop in text:
                text = text.split(stop, 1)[0] + ("." if stop == ". " else "")
                break
        return text if len(text) <= ONE_LINE else text[: ONE_LINE - 1] + "…"


@dataclass(frozen=True, slots=True)
class Skipped:
    name: str
    where: str
    reason: str


@dataclass(frozen=True, slots=True, eq=False)
class ToolSet:
    path: Path
    format: str
    tools: tuple[Tool, ...]
    skipped: tuple[Skipped, ...] = ()
    by_name: dict[str, Tool] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        self.by_name.update({t.export_name: t for t in self.tools})


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
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ToolsError(f"{what} not found", path=path) from None
    if path.is_dir():
        raise ToolsError(f"{what} is a folder, not a file", path=path)
    if size > MAX_FILE_BYTES:
        raise ToolsError(f"{what} is {size} bytes; the limit is {MAX_FILE_BYTES}", path=path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ToolsError(f"cannot read {what}: {exc.strerror}", path=path) from None
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


def _items(data: Any, path: Path) -> Iterator[tuple[str, Any]]:
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
    )


def _bfcl_types(node: Any, where: str) -> Any:
    """Rewrite BFCL/Generator type names (dict, float, tuple, any) to JSON Schema."""
    if isinstance(node, list):
        return [_bfcl_types(n, where) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "type" and isinstance(value, str):
            low = value.strip().lower()
            if low not in TYPE_ALIASES:
                raise ToolsError(f"unknown type {value!r}", where=where)
            mapped = TYPE_ALIASES[low]
            if mapped is not None:
                out["type"] = mapped
        elif key in ("properties", "$defs", "definitions") and isinstance(value, dict):
            out[key] = {k: _bfcl_types(v, where) for k, v in value.items()}
        elif key in ("items", "additionalProperties", "anyOf", "oneOf", "allOf", "prefixItems"):
            out[key] = _bfcl_types(value, where)
        else:
            out[key] = value
    return out


def _param_list(params: list[Any], where: str) -> dict[str, Any]:
    """Generator format: a list of {name, type, required, default, description}."""
    props: dict[str, Any] = {}
    required = []
    for i, p in enumerate(params):
        if not isinstance(p, dict) or not isinstance(p.get("name"), str) or not p["name"]:
            raise ToolsError("each parameter needs a 'name'", where=f"{where}.parameters[{i}]")
        schema = {k: v for k, v in p.items() if k not in ("name", "required")}
        schema.setdefault("type", "string")
        props[p["name"]] = _bfcl_types(schema, f"{where}.parameters[{i}]")
        if p.get("required", False) is True:
            required.append(p["name"])
    return {"type": "object", "properties": props, "required": required}


def _normalize(raw: Any, where: str) -> tuple[str, str, str, dict, dict | None]:
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
        params = _param_list(raw["parameters"], where)
        if isinstance(raw.get("returns"), dict):
            output = _bfcl_types(raw["returns"], f"{where}.returns")
    elif isinstance(raw.get("parameters"), dict):
        params = raw["parameters"]
        if params.get("type") == "dict":
            fmt = "bfcl"
            params = _bfcl_types(params, f"{where}.parameters")
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


def export_name(name: str, taken: set[str]) -> str:
    """A valid OpenAI function name for ``name``, unique within ``taken``."""
    base = re.sub(r"[^a-zA-Z0-9_-]", "_", name)[:64] or "tool"
    candidate, n = base, 2
    while candidate in taken:
        suffix = f"_{n}"
        candidate, n = base[: 64 - len(suffix)] + suffix, n + 1
    return candidate


def schema_problem(schema: Any) -> str | None:
    """Why ``schema`` is not valid JSON Schema, or None (checklist item 6).

    Checking against the 2020-12 meta-schema costs ~2 ms a schema, and the same
    tool schemas are checked when loading tools and again by the checks, so
    results are remembered by the schema's canonical JSON.
    """
    try:
        text = orjson.dumps(schema, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return _schema_problem(schema)
    return _schema_problem_of(text)


@lru_cache(maxsize=4096)
def _schema_problem_of(text: bytes) -> str | None:
    return _schema_problem(orjson.loads(text))


def _schema_problem(schema: Any) -> str | None:
    try:
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        return f"not valid JSON Schema at {where}: {exc.message}"
    return None


def parse_tools(data: Any, path: Path) -> ToolSet:
    """Normalize parsed JSON into a ToolSet (see module docstring)."""
    seen: dict[str, tuple[str, dict]] = {}
    formats: set[str] = set()
    tools: list[Tool] = []
    skipped: list[Skipped] = []
    taken: set[str] = set()
    for where, raw in _items(data, path):
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
            fmt, name, desc, params, output = _normalize(raw, where)
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
        if not config.paths.tools.is_file():
            exc.hint = exc.hint or f"named by 'tools' in {config.path}"
        raise


def fingerprint(tool: Tool) -> bytes:
    """Canonical bytes of what a prompt shows of a tool (for change detection)."""
    return orjson.dumps(
        [tool.export_name, tool.description, tool.strict], option=orjson.OPT_SORT_KEYS
    )
