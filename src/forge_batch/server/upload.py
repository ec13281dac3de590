"""Stream a multipart upload straight into the data folder, within a size cap.

Starlette's form parser spools files to the system temp folder and knows no
total limit, so uploads are parsed here with python-multipart: the ``file``
part is written chunk by chunk into an atomic writer inside the data folder,
and the request is refused with 413 as soon as the declared Content-Length or
the bytes actually received pass the cap. Nothing beyond the cap is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO

from python_multipart.exceptions import FormParserError, MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from .apierrors import ApiError

FRAMING_ALLOWANCE = 64 * 1024  # multipart headers, boundaries and small fields
MAX_FIELD_BYTES = 16 * 1024
MAX_FILENAME = 255


def too_large(limit: int) -> ApiError:
    return ApiError(
        413, f"File is too large: the limit is {limit} bytes.", param="file", code="file_too_large"
    )


@dataclass(slots=True)
class _Part:
    name: str = ""
    filename: str | None = None
    headers: dict[bytes, bytes] = field(default_factory=dict)
    data: bytearray = field(default_factory=bytearray)


@dataclass(slots=True)
class Upload:
    """What arrived: the file's name and size, and the plain form fields."""

    filename: str | None = None
    size: int = 0
    fields: dict[str, str] = field(default_factory=dict)


class _Receiver:
    """python-multipart callbacks: the file part goes to ``sink``, fields to memory."""

    def __init__(self, sink: BinaryIO, limit: int) -> None:
        self.sink = sink
        self.limit = limit
        self.result = Upload()
        self.part = _Part()
        self.header_name = b""
        self.header_value = b""
        self.ended = False
        self.error: ApiError | None = None

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_end": self.on_end,
        }

    def on_part_begin(self) -> None:
        self.part = _Part()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.part.headers[self.header_name.lower()] = self.header_value
        self.header_name = self.header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.part.headers.get(b"content-disposition", b""))
        self.part.name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in options:
            if self.part.name != "file" or self.result.filename is not None:
                raise ApiError(400, "Only one file part, named 'file', is accepted.", param="file")
            name = options[b"filename"].decode("utf-8", "replace")
            self.part.filename = name[-MAX_FILENAME:] or "upload.jsonl"
            self.result.filename = self.part.filename

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.part.filename is not None:
            self.result.size += end - start
            if self.result.size > self.limit:
                raise too_large(self.limit)
            self.sink.write(data[start:end])
        else:
            self.part.data += data[start:end]
            if len(self.part.data) > MAX_FIELD_BYTES:
                raise ApiError(400, f"Form field {self.part.name!r} is too long.")

    def on_part_end(self) -> None:
        if self.part.filename is None and self.part.name:
            self.result.fields[self.part.name] = self.part.data.decode("utf-8", "replace")

    def on_end(self) -> None:
        self.ended = True


async def receive_upload(request: Request, sink: BinaryIO, limit: int) -> Upload:
    """Parse the multipart body, writing the ``file`` part's bytes to ``sink``."""
    ctype, params = parse_options_header(request.headers.get("content-type"))
    if ctype != b"multipart/form-data" or b"boundary" not in params:
        raise ApiError(400, "Expected a multipart/form-data body with a boundary.")
    body_limit = limit + FRAMING_ALLOWANCE
    declared = request.headers.get("content-length")
    digits = declared is not None and declared.isascii() and declared.isdigit()
    if digits and (len(declared) > 18 or int(declared) > body_limit):  # type: ignore[arg-type]
        raise too_large(limit)  # (the length check first: no int() of 5,000 digits)
    receiver = _Receiver(sink, limit)
    try:
        parser = MultipartParser(params[b"boundary"], receiver.callbacks())  # type: ignore[arg-type]
    except (FormParserError, ValueError) as exc:  # e.g. a boundary over 256 characters
        raise ApiError(400, f"Malformed multipart header: {exc}") from None
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > body_limit:
                raise too_large(limit)
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError as exc:
        raise ApiError(400, f"Malformed multipart body: {exc}") from None
    if not receiver.ended:
        raise ApiError(400, "The multipart body ended early.")
    if receiver.result.filename is None:
        raise ApiError(
            400,
            "Missing required parameter: 'file'.",
            param="file",
            code="missing_required_parameter",
        )
    return receiver.result
