"""The outermost ASGI layer: bearer-token check and HTTP-level fault injection.

It sits outside Starlette so an injected 429/500 or dropped connection
happens before any handler runs (nothing is done, as with a real outage), and
so a request without the right token never reaches a handler at all. The
Authorization header is compared and forgotten: never logged, never stored.
"""

from __future__ import annotations

import asyncio
import hmac
import itertools
import socket
import struct
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from .apierrors import ApiError
from .faults import Faults


class Gate:
    """Wraps the app: 401 without the token; injected 429 / 500 / reset."""

    def __init__(self, app: ASGIApp, *, token: str | None, faults: Faults) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode() if token else None
        self.faults = faults
        self._calls = itertools.count()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.expected is not None and not self._authorized(scope):
            err = ApiError(
                401,
                "Incorrect API key provided. Pass the server's token as the API key.",
                code="invalid_api_key",
            )
            await err.response()(scope, receive, send)
            return
        fault = self.faults.http_fault(next(self._calls)) if self.faults.active else None
        if fault == "429":
            err = ApiError(
                429,
                "Rate limit reached (injected fault http_429).",
                type="requests",
                code="rate_limit_exceeded",
                headers={"Retry-After": "0"},
            )
            await err.response()(scope, receive, send)
        elif fault == "500":
            err = ApiError(
                500, "The server had an error (injected fault http_500).", type="server_error"
            )
            await err.response()(scope, receive, send)
        elif fault == "reset":
            await _drop_connection(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        assert self.expected is not None
        for name, value in scope["headers"]:
            if name == b"authorization":
                return hmac.compare_digest(value, self.expected)
        return False


async def _drop_connection(scope: Scope, receive: Receive, send: Send) -> None:
    """Close the socket with a TCP reset and no response.

    ASGI has no "hang up" message, so this reaches uvicorn's transport through
    the bound ``send`` method of its request cycle. If that is unavailable
    (another server), a bare 500 is the fallback.
    """
    cycle: Any = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        err = ApiError(500, "The server dropped the request (injected fault reset).")
        await err.response()(scope, receive, send)
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        linger = struct.pack("ii", 1, 0)  # linger 0: close sends RST, not FIN
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
    transport.abort()
    for _ in range(10):  # let uvicorn see the loss, so it does not log a missing response
        if getattr(cycle, "disconnected", True):
            break
        await asyncio.sleep(0)
