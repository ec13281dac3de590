"""Starlette routes for the Files and Batches API, in OpenAI's shapes.

Handlers are thin: check the input, call the store, answer JSON. Every id in
a path or a body passes the strict regex in ids.py before anything touches
the filesystem; a bad id is simply "not found". Sync handlers run in
Starlette's thread pool, so a disk write never stalls the event loop.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from . import ids
from .apierrors import ApiError, error_body, json_response, not_found
from .faults import CHARS_PER_TOKEN, enqueued_error
from .store import TERMINAL, Store, now
from .upload import receive_upload
from .worker import Worker

log = logging.getLogger(__name__)

ENDPOINTS = ("/v1/chat/completions",)
WINDOWS = ("24h",)
MAX_JSON_BODY = 1024 * 1024
CHUNK = 256 * 1024
_DIGITS = re.compile(r"[0-9]{1,9}")
UPLOAD_PURPOSES = ("batch", "fine-tune", "assistants", "vision", "user_data", "evals")


def _page(items: list[dict[str, Any]], after: str | None, limit: int) -> dict[str, Any]:
    """OpenAI cursor page: objects after the one named ``after``, at most ``limit``."""
    if after:
        index = next((i for i, o in enumerate(items) if o["id"] == after), None)
        items = [] if index is None else items[index + 1 :]
    data = items[:limit]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": len(items) > limit,
    }


def _limit(request: Request, default: int, maximum: int) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return default
    # ASCII digits only: str.isdigit() also accepts '²' and '٣', which int() refuses
    if not _DIGITS.fullmatch(raw) or not 1 <= int(raw) <= maximum:
        raise ApiError(400, f"limit must be an integer from 1 to {maximum}.", param="limit")
    return int(raw)


@dataclass
class ServerContext:
    """What the handlers share: the store, the worker and two settings.

    Kept on ``app.state.ctx`` so the handlers can be plain module-level
    functions (each testable and readable on its own) instead of closures.
    """

    store: Store
    worker: Worker
    max_upload_bytes: int
    fail_validation: int = 0
    created: Iterator[int] = field(default_factory=itertools.count)


def _ctx(request: Request) -> ServerContext:
    ctx: ServerContext = request.app.state.ctx
    return ctx


async def create_file(request: Request) -> Response:
    ctx = _ctx(request)
    file_id = ids.new_file_id()
    try:
        with ctx.store.new_file_writer(file_id) as sink:
            upload = await receive_upload(request, sink, ctx.max_upload_bytes)
            purpose = upload.fields.get("purpose")
            if purpose not in UPLOAD_PURPOSES:
                allowed = ", ".join(UPLOAD_PURPOSES)
                raise ApiError(400, f"purpose must be one of: {allowed}.", param="purpose")
    except ClientDisconnect:
        raise ApiError(400, "The client disconnected during the upload.") from None
    obj = ctx.store.register_file(file_id, upload.filename or "upload", purpose, upload.size)
    return json_response(obj)


def list_files(request: Request) -> Response:
    order = request.query_params.get("order", "desc")
    if order not in ("asc", "desc"):
        raise ApiError(400, "order must be 'asc' or 'desc'.", param="order")
    items = _ctx(request).store.list_files(request.query_params.get("purpose"), order)
    return json_response(
        _page(items, request.query_params.get("after"), _limit(request, 10_000, 10_000))
    )


def _file(request: Request) -> dict[str, Any]:
    file_id = request.path_params["file_id"]
    obj = _ctx(request).store.get_file(file_id)
    if obj is None:
        raise not_found("File", file_id)
    return obj


def get_file(request: Request) -> Response:
    return json_response(_file(request))


def file_content(request: Request) -> Response:
    """The bytes, read through a handle opened here.

    Opening before answering means a DELETE racing this call either wins
    (404) or comes too late to matter: the open handle keeps the whole
    content readable, so the client never sees a 500 or a cut-off body.
    """
    obj = _file(request)
    try:
        fh = open(_ctx(request).store.data_path(obj["id"]), "rb")  # noqa: SIM115 (closed by _stream)
    except FileNotFoundError:
        raise not_found("File", obj["id"]) from None
    size = os.fstat(fh.fileno()).st_size
    return StreamingResponse(
        _stream(fh),
        media_type="application/octet-stream",
        headers={"Content-Length": str(size)},
    )


def _stream(fh: BinaryIO) -> Iterator[bytes]:
    with fh:
        while block := fh.read(CHUNK):
            yield block


def delete_file(request: Request) -> Response:
    obj = _file(request)
    _ctx(request).store.delete_file(obj["id"])
    return json_response({"id": obj["id"], "object": "file", "deleted": True})


async def create_batch(request: Request) -> Response:
    ctx = _ctx(request)
    try:
        body = orjson.loads(await _small_body(request))
    except orjson.JSONDecodeError:
        raise ApiError(400, "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    endpoint, window = body.get("endpoint"), body.get("completion_window")
    if endpoint not in ENDPOINTS:
        msg = f"endpoint {endpoint!r} is not supported here; use {ENDPOINTS[0]!r}."
        raise ApiError(400, msg, param="endpoint", code="invalid_value")
    if window not in WINDOWS:
        msg = f"completion_window {window!r} is not supported; use '24h'."
        raise ApiError(400, msg, param="completion_window", code="invalid_value")
    metadata = _metadata(body.get("metadata"))
    file_id = body.get("input_file_id")
    if not isinstance(file_id, str):
        raise ApiError(
            400,
            "input_file_id is required.",
            param="input_file_id",
            code="missing_required_parameter",
        )
    file = ctx.store.get_file(file_id)
    if file is None:
        raise not_found("File", file_id)
    if file["purpose"] != "batch":
        raise ApiError(
            400,
            f"File {file_id} must have purpose 'batch'.",
            param="input_file_id",
            code="invalid_value",
        )
    forced = next(ctx.created) < ctx.fail_validation
    over = _over_enqueued_limit(ctx, file)
    batch = ctx.store.create_batch(file_id, endpoint, window, metadata, forced)
    if over is not None:  # created, then failed validation, as OpenAI does
        ctx.store.transition(batch["id"], {"validating"}, "failed", failed_at=now(), errors=over)
    else:
        ctx.worker.submit(batch["id"])
    return json_response(batch)


def _over_enqueued_limit(ctx: ServerContext, file: dict[str, Any]) -> dict[str, Any] | None:
    """The errors of a new batch from ``file`` past fault enqueued_limit, else None."""
    limit = ctx.worker.faults.enqueued_limit
    if not limit:
        return None
    enqueued = 0
    for other in ctx.store.list_batches():
        if other["status"] not in TERMINAL:
            info = ctx.store.get_file(other["input_file_id"])
            enqueued += (info or {}).get("bytes", 0) // CHARS_PER_TOKEN
    model = "the model"
    with (
        contextlib.suppress(OSError, ValueError, KeyError, TypeError),
        open(ctx.store.data_path(file["id"]), "rb") as fh,
    ):
        model = orjson.loads(fh.readline())["body"]["model"]
    return enqueued_error(limit, file["bytes"] // CHARS_PER_TOKEN, enqueued, str(model))


def list_batches(request: Request) -> Response:
    items = _ctx(request).store.list_batches()
    return json_response(_page(items, request.query_params.get("after"), _limit(request, 20, 100)))


def _batch(request: Request) -> dict[str, Any]:
    batch_id = request.path_params["batch_id"]
    batch = _ctx(request).store.get_batch(batch_id)
    if batch is None:
        raise not_found("Batch", batch_id)
    return batch


def get_batch(request: Request) -> Response:
    return json_response(_batch(request))


def cancel_batch(request: Request) -> Response:
    store = _ctx(request).store
    batch_id = _batch(request)["id"]
    if store.transition(batch_id, {"validating", "in_progress"}, "cancelling", cancelling_at=now()):
        return json_response(store.get_batch(batch_id))
    status = store.status(batch_id)
    if status in ("cancelling", "cancelled"):
        return json_response(store.get_batch(batch_id))
    assert status in TERMINAL or status == "finalizing"
    msg = f"Cannot cancel a batch with status '{status}'."
    raise ApiError(400, msg, code="batch_not_cancellable")


ROUTES = [
    Route("/v1/files", create_file, methods=["POST"]),
    Route("/v1/files", list_files, methods=["GET"]),
    Route("/v1/files/{file_id}", get_file, methods=["GET"]),
    Route("/v1/files/{file_id}", delete_file, methods=["DELETE"]),
    Route("/v1/files/{file_id}/content", file_content, methods=["GET"]),
    Route("/v1/batches", create_batch, methods=["POST"]),
    Route("/v1/batches", list_batches, methods=["GET"]),
    Route("/v1/batches/{batch_id}", get_batch, methods=["GET"]),
    Route("/v1/batches/{batch_id}/cancel", cancel_batch, methods=["POST"]),
]


def build_app(
    store: Store,
    worker: Worker,
    *,
    max_upload_bytes: int,
    fail_validation: int = 0,
) -> Starlette:
    """The Starlette app; ``fail_validation`` forces the first N new batches to fail."""
    handlers: dict[Any, Callable[..., Any]] = {
        ApiError: _api_error,
        HTTPException: _http_error,
        ClientDisconnect: _client_gone,
        Exception: _server_error,
    }
    app = Starlette(routes=ROUTES, exception_handlers=handlers)
    app.state.ctx = ServerContext(store, worker, max_upload_bytes, fail_validation)
    return app


async def _small_body(request: Request) -> bytes:
    """The body of a JSON call, refused with 413 past MAX_JSON_BODY bytes."""
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_JSON_BODY:
            raise ApiError(413, f"Request body is larger than {MAX_JSON_BODY} bytes.")
    return bytes(data)


def _metadata(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    ok = (
        isinstance(value, dict)
        and len(value) <= 16
        and all(isinstance(k, str) and len(k) <= 64 for k in value)
        and all(isinstance(v, str) and len(v) <= 512 for v in value.values())
    )
    if not ok:
        msg = "metadata must map at most 16 keys (<= 64 chars) to strings (<= 512 chars)."
        raise ApiError(400, msg, param="metadata", code="invalid_value")
    return dict(value)


def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        message = f"Unknown request URL: {request.method} {request.url.path!r}."
    elif exc.status_code == 405:
        message = f"Method {request.method} is not allowed for this URL."
    else:
        message = str(exc.detail)
    return json_response(error_body(message), exc.status_code)


def _client_gone(request: Request, exc: Exception) -> Response:
    """The client hung up mid-request: nothing was done and no one is listening."""
    log.debug("client left during %s %s", request.method, request.url.path)
    return json_response(error_body("The client disconnected during the request."), 400)


def _server_error(request: Request, exc: Exception) -> Response:
    log.error("unhandled error on %s %s: %r", request.method, request.url.path, exc)
    return json_response(error_body("The server had an error.", type="server_error"), 500)
