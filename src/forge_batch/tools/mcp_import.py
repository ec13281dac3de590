"""Import a live MCP server's tools/list over stdio with the official MCP SDK."""

from __future__ import annotations

import shlex
import tempfile
from pathlib import Path
from typing import Any, TextIO

import anyio
import orjson

from ..errors import ToolsError
from ..fsio import atomic_write


async def _list_tools(command: list[str], timeout: float, errlog: TextIO) -> list[dict[str, Any]]:
    from mcp.client.session import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(command=command[0], args=command[1:])
    tools: list[dict[str, Any]] = []
    with anyio.fail_after(timeout):
        async with (
            stdio_client(params, errlog=errlog) as streams,
            ClientSession(streams[0], streams[1]) as session,
        ):
            await session.initialize()
            cursor = None
            while True:
                page = await (
                    session.list_tools()
                    if cursor is None
                    else session.list_tools(params=_page(cursor))
                )
                for tool in page.tools:
                    tools.append(tool.model_dump(mode="json", by_alias=True, exclude_none=True))
                cursor = getattr(page, "next_cursor", None) or getattr(page, "nextCursor", None)
                if not cursor:
                    break
    return tools


def _tail(errlog: TextIO) -> str:
    errlog.seek(0)
    lines = [line.strip() for line in errlog.read().splitlines() if line.strip()]
    return f" (server said: {lines[-1][:200]})" if lines else ""


def _page(cursor: str) -> Any:
    import mcp_types

    return mcp_types.PaginatedRequestParams(cursor=cursor)


def import_tools(server: str, out: Path, timeout: float = 120.0) -> int:
    """Start ``server`` (a command line), save its tools as ``{"tools": [...]}``."""
    command = shlex.split(server)
    if not command:
        raise ToolsError("--server is empty; give the command that starts the MCP server")
    # The server's stderr (banners, npm notices) goes to a temporary file: it is
    # shown only when the import fails, as the reason's last line.
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as errlog:
        try:
            tools = anyio.run(_list_tools, command, timeout, errlog)
        except TimeoutError:
            raise ToolsError(
                f"no tools/list answer within {timeout:g}s{_tail(errlog)}", where=server
            ) from None
        except FileNotFoundError:
            raise ToolsError(f"command not found: {command[0]}", where=server) from None
        except Exception as exc:  # the SDK raises many kinds; all mean "could not import"
            raise ToolsError(
                f"MCP server failed: {type(exc).__name__}: {exc}{_tail(errlog)}", where=server
            ) from None
    atomic_write(out, orjson.dumps({"tools": tools}, option=orjson.OPT_INDENT_2) + b"\n")
    return len(tools)
