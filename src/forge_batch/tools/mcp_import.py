"""Import a live MCP server's tools/list over stdio with the official MCP SDK."""

from __future__ import annotations

import re
import shlex
import tempfile
from pathlib import Path
from typing import Any, TextIO

import anyio
import orjson

from ..errors import ToolsError
from ..fsio import atomic_write, write_problem


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


# npm's boilerplate around its one useful line ("npm error 404 Not Found - GET ...").
_NOISE = re.compile(
    r"A complete log of this run|^npm (?:error|ERR!) code |^npm (?:error|ERR!)(?:\s+\d+)?\s*$"
)


def _tail(errlog: TextIO) -> str:
    """The server's own error line from its stderr, as ' (server said: ...)'.

    The first line that says "error" once npm's boilerplate is dropped (npm
    prints the reason first, then notes and a log path); else the last line.
    """
    errlog.seek(0)
    lines = [line.strip() for line in errlog.read().splitlines() if line.strip()]
    useful = [line for line in lines if not _NOISE.search(line)] or lines
    if not useful:
        return ""
    said = next((line for line in useful if "error" in line.lower()), useful[-1])
    return f" (server said: {said[:300]})"


def _leaf(exc: BaseException) -> BaseException:
    """The first real exception inside (nested) ExceptionGroups, which say nothing."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _page(cursor: str) -> Any:
    import mcp_types

    return mcp_types.PaginatedRequestParams(cursor=cursor)


def import_tools(server: str, out: Path, timeout: float = 120.0) -> int:
    """Start ``server`` (a command line), save its tools as ``{"tools": [...]}``."""
    problem = write_problem(out)
    if problem:  # before the server runs, not after
        raise ToolsError(f"cannot write the tools file: {problem}", path=out)
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
            leaf = _leaf(exc)
            if isinstance(leaf, FileNotFoundError):
                raise ToolsError(f"command not found: {command[0]}", where=server) from None
            raise ToolsError(
                f"MCP server failed: {type(leaf).__name__}: {leaf}{_tail(errlog)}", where=server
            ) from None
    atomic_write(out, orjson.dumps({"tools": tools}, option=orjson.OPT_INDENT_2) + b"\n")
    return len(tools)
