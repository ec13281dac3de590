"""OpenAI-shaped API errors and JSON responses.

The SDK picks its exception class from the HTTP status and reads
``{"error": {message, type, param, code}}``; every error this server sends has
exactly that shape so clients behave as they would against OpenAI.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class ApiError(Exception):
    """Raised inside a handler; turned into an OpenAI error response."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers or {}

    def response(self) -> Response:
        body = error_body(self.message, type=self.type, param=self.param, code=self.code)
        return json_response(body, self.status, headers=self.headers)


def error_body(
    message: str,
    *,
    type: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
) -> dict[str, Any]:
    """The ``{"error": {...}}`` body OpenAI sends (also used inside error files)."""
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def not_found(kind: str, object_id: str) -> ApiError:
    """404 for an id that is malformed or unknown; the id is echoed safely."""
    shown = object_id.encode("unicode_escape").decode("ascii")[:100]
    return ApiError(404, f"No such {kind}: '{shown}'", param="id")


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body), status_code=status, headers=headers, media_type="application/json"
    )
