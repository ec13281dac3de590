"""The relay executor: each batch line goes to an OpenAI-compatible chat server.

vLLM, Ollama, llama.cpp's server or a LiteLLM proxy answer
``/v1/chat/completions`` but have no Files or Batches API. Behind the local
Batch server they get forge-batch's batch semantics (journal, resume, cancel,
fault handling, accounting): the worker hands each line to this executor,
``concurrency`` lines at a time, and the upstream's answer goes into the
output file as it came.

What it keeps unchanged, and why:

- a 200 body passes through as the upstream sent it, usage included (or
  missing): checking a response is collect's job, at ingest;
- a final non-200 keeps the upstream's status and JSON body, so a 400 stays a
  400 and forge-batch's give-up rule (4xx final, 5xx resent) still holds.

What it retries (tenacity, exponential backoff, ``Retry-After`` honoured):
429, 408 and 5xx answers, timeouts and dropped connections, ``attempts``
times; then the line ends in the error file with the last upstream status and
body, or 502/504 naming the upstream when none came. An upstream that cannot
be reached at all (connection refused: restarting, or down) is waited for
without limit, every few seconds: failing the lines would spend forge-batch's
attempts on an outage. The batch stays ``in_progress`` meanwhile, and a server
stop interrupts the wait (the line is left unrun and runs on resume). The API key is
read from the environment variable named in the config, held in memory only
and never logged or written.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from typing import Any

import httpx2
import orjson
from tenacity import RetryCallState, Retrying, retry_if_exception_type

from ..errors import ConfigError, shown_url
from .apierrors import error_body
from .lanes import Interrupted

log = logging.getLogger(__name__)

RETRY_STATUS = frozenset({408, 429})
MAX_RETRY_AFTER = 60.0
UNREACHABLE_POLL = 2.0  # seconds between tries while the upstream is down
MAX_BODY = 64 * 1024 * 1024  # an upstream answer larger than this is refused (502)


@dataclass(frozen=True, slots=True)
class RelaySettings:
    """Where and how to relay; the key is named by ``key_env``, never held here."""

    url: str
    key_env: str | None = None
    concurrency: int = 8
    timeout: float = 600.0
    attempts: int = 6
    wait_min: float = 0.25
    wait_max: float = 20.0


class _Retry(Exception):
    """A retryable upstream answer (429, 408, 5xx), kept to report if retries run out."""

    def __init__(self, status: int, body: dict[str, Any], retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status, self.body, self.retry_after = status, body, retry_after


class RelayExecutor:
    """Executor that sends each chat completion body to ``settings.url``.

    Thread-safe: the worker calls it from ``concurrency`` threads at once and
    one pooled HTTP client serves them all.
    """

    def __init__(self, settings: RelaySettings) -> None:
        if not settings.url.startswith(("http://", "https://")):
            raise ConfigError("the relay must be an http:// or https:// URL")
        self.settings = settings
        self.shown = shown_url(settings.url)  # for messages: no user:password@, no ?query
        self.concurrency = settings.concurrency  # read by the worker
        headers = {"Content-Type": "application/json"}
        if settings.key_env:
            key = os.environ.get(settings.key_env)
            if not key:
                raise ConfigError(
                    f"the relay key variable {settings.key_env} is not set",
                    hint=f"export {settings.key_env}=... (or leave relay_key_env out)",
                )
            headers["Authorization"] = f"Bearer {key}"
        timeout = httpx2.Timeout(settings.timeout, connect=min(10.0, settings.timeout))
        limits = httpx2.Limits(
            max_connections=settings.concurrency, max_keepalive_connections=settings.concurrency
        )
        self._client_args = {
            "base_url": settings.url.rstrip("/") + "/",
            "headers": headers,
            "timeout": timeout,
            "limits": limits,
        }
        self._client = httpx2.Client(**self._client_args)
        self._stopping = threading.Event()
        self._warned = threading.Event()

    def __repr__(self) -> str:  # never shows the headers (the key)
        return f"RelayExecutor({self.shown!r}, concurrency={self.concurrency})"

    def __call__(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        request = dict(body)
        request.pop("stream", None)  # a batch line is answered whole, never streamed
        request.pop("stream_options", None)
        payload = orjson.dumps(request)
        retrying = Retrying(
            retry=retry_if_exception_type((_Retry, httpx2.TransportError)),
            stop=self._give_up,
            wait=self._wait,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(self._send, payload)
        except _Retry as exc:
            return exc.status, exc.body
        except httpx2.TimeoutException:
            msg = f"the upstream {self.shown} did not answer within {self.settings.timeout}s"
            return 504, error_body(msg, type="upstream_error", code="upstream_timeout")
        except Exception as exc:
            if self._stopping.is_set():
                raise Interrupted from None
            if not isinstance(exc, httpx2.TransportError):
                raise
            msg = f"the upstream {self.shown} dropped the request: {type(exc).__name__}"
            return 502, error_body(msg, type="upstream_error", code="upstream_unreachable")

    def _send(self, payload: bytes) -> tuple[int, dict[str, Any]]:
        with self._client.stream("POST", "chat/completions", content=payload) as resp:
            raw = bytearray()
            for block in resp.iter_bytes():
                raw += block
                if len(raw) > MAX_BODY:
                    msg = f"the upstream answer is larger than {MAX_BODY} bytes"
                    return 502, error_body(msg, type="upstream_error", code="upstream_too_large")
        status = resp.status_code
        parsed = _json_object(bytes(raw))
        if status == 200:
            if parsed is None:
                msg = "the upstream answered 200 with a body that is not a JSON object"
                return 502, error_body(msg, type="upstream_error", code="upstream_bad_response")
            return 200, parsed
        body = parsed if parsed is not None else _wrapped(status, bytes(raw))
        if status in RETRY_STATUS or status >= 500:
            raise _Retry(status, body, _retry_after(resp.headers.get("retry-after")))
        return status, body

    def _give_up(self, state: RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, httpx2.ConnectError):  # down or restarting: wait for it
            if not self._warned.is_set():
                self._warned.set()
                log.warning("the relay upstream %s is unreachable; waiting for it", self.shown)
            return False
        return bool(state.attempt_number >= self.settings.attempts)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Retry) and exc.retry_after is not None:
            return exc.retry_after
        backoff = self.settings.wait_min * 2 ** (state.attempt_number - 1)
        cap = UNREACHABLE_POLL if isinstance(exc, httpx2.ConnectError) else self.settings.wait_max
        return float(min(cap, self.settings.wait_max, backoff))

    def _sleep(self, seconds: float) -> None:
        if self._stopping.wait(seconds):
            raise Interrupted

    def interrupt(self) -> None:
        """The server is stopping: end waits and in-flight calls (their lines run on resume)."""
        self._stopping.set()
        self._client.close()

    def resume(self) -> None:
        """The server (re)starts: send again."""
        if self._stopping.is_set():
            self._client = httpx2.Client(**self._client_args)
            self._stopping.clear()

    def close(self) -> None:
        """Release the pooled connections."""
        self._client.close()


def _json_object(raw: bytes) -> dict[str, Any] | None:
    """The body as a JSON object (orjson, so it can be written back as-is), else None."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _wrapped(status: int, raw: bytes) -> dict[str, Any]:
    """A non-JSON error answer (a proxy's HTML page) in OpenAI's error shape."""
    text = raw[:1000].decode("utf-8", "replace").strip() or f"HTTP {status}"
    kind = "server_error" if status >= 500 else "invalid_request_error"
    return error_body(f"upstream answered HTTP {status}: {text}", type=kind)


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (numbers only; dates are ignored)."""
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    if seconds is None or not 0 <= seconds <= MAX_RETRY_AFTER:
        return None
    return seconds
