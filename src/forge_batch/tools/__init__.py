"""Load tool sets in the formats people already have, normalized to one Tool.

Accepted without being told which: an MCP ``tools/list`` result or a bare list
of MCP tools; OpenAI tools (``{"type": "function", "function": ...}``) or bare
function objects; BFCL functions (``parameters.type == "dict"``, types
``float``/``tuple``/``any``; also BFCL question files with a ``function`` list,
as JSON or JSON lines); and the Generator tool's parameter-list format.

Problems with the file itself (not JSON, wrong shape, duplicate names) are a
ToolsError that names the file and the place. A tool whose schema has no strict
form is skipped with the reason; a set with no usable tool is an error.

The package, in the order a file flows through it: ``reading`` (bounded read,
JSON or JSON lines), ``detect`` (containers and the four formats), ``bfcl``
(BFCL/Generator type names), ``schema`` (is it valid JSON Schema), ``strict``
(conversion to strict mode and the codec back), ``toolset`` (all of it into a
ToolSet), ``model`` (Tool, ToolSet); ``mcp_import`` writes a tools file from a
live MCP server.
"""

from . import strict
from .bfcl import TYPE_ALIASES
from .detect import MAX_DESCRIPTION
from .model import Skipped, Tool, ToolSet, fingerprint
from .reading import MAX_DEPTH, MAX_FILE_BYTES, read_json_file
from .schema import schema_problem
from .toolset import NAME_RE, export_name, load_tools, parse_tools, project_tools

__all__ = [
    "MAX_DEPTH",
    "MAX_DESCRIPTION",
    "MAX_FILE_BYTES",
    "NAME_RE",
    "TYPE_ALIASES",
    "Skipped",
    "Tool",
    "ToolSet",
    "export_name",
    "fingerprint",
    "load_tools",
    "parse_tools",
    "project_tools",
    "read_json_file",
    "schema_problem",
    "strict",
]
