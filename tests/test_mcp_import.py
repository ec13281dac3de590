"""tools import against a real MCP server (from the npm registry) over stdio."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from forge_batch.cli import cli
from forge_batch.tools import load_tools

SERVER = "npx -y @modelcontextprotocol/server-memory"
pytestmark = [
    pytest.mark.network,
    pytest.mark.skipif(
        shutil.which("npx") is None,
        reason="node/npx not installed: the MCP "
        "import test starts @modelcontextprotocol/server-memory with npx",
    ),
]


def test_import_memory_server_and_use_it(tmp_path: Path) -> None:
    out = tmp_path / "memory.tools.json"
    result = CliRunner().invoke(
        cli, ["tools", "import", "--server", SERVER, "-o", str(out), "--timeout", "300"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    names = {t["name"] for t in data["tools"]}
    assert {"create_entities", "read_graph", "search_nodes"} <= names
    assert all("inputSchema" in t for t in data["tools"])
    toolset = load_tools(out)  # the import is a usable tools file
    assert toolset.format == "mcp" and len(toolset.tools) == len(names)
    check = CliRunner().invoke(cli, ["tools", "check", str(out)])
    assert check.exit_code == 0 and "create_entities" in check.output


def test_import_reports_a_server_that_does_not_start(tmp_path: Path) -> None:
    out = tmp_path / "x.json"
    result = CliRunner().invoke(
        cli, ["tools", "import", "--server", "definitely-not-a-command-xyz", "-o", str(out)]
    )
    assert result.exit_code == 2
    assert result.output.startswith("Error: ") and "definitely-not-a-command-xyz" in result.output
    assert not out.exists()
