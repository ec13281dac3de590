"""The Batch API over the official openai SDK: one client code path for every engine.

OpenAI, Azure OpenAI (its v1 endpoint), any compatible server, and the local
server inside forge-batch are all reached the same way: ``openai.OpenAI`` with
a ``base_url``. The SDK's own retries are off; retries happen here, once, with
backoff (tenacity) and only for errors worth retrying (429, 5xx, timeouts,
dropped connections). Creating a batch or uploading a file is not idempotent,
so before retrying one we look for what the failed call may have done anyway.
Each retry is one line on stderr (what failed, attempt n/N, the wait), and a
connection that never comes up names the base URL it tried: an unreachable
URL used to mean two silent minutes and then an error that did not say where.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import openai
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from . import pacing
from .config import Config
from .errors import ConfigError, EngineError, shown_url
from .fsio import atomic_writer
from .interrupt import second_forces
from .progress import stamped

T = TypeVar("T")
ENDPOINT = "/v1/chat/completions"
META_SHARD = "forge_shard"
_KEY_RE = re.compile(r"(sk-[A-Za-z0-9_\-]{6,}|Bearer\s+[A-Za-z0-9_\-.]{6,})")


def redact(text: str, secret: str | None = None) -> str:
    """Remove API keys from text that may echo a request."""
    if secret:
        text = text.replace(secret, "***")
    return _KEY_RE.sub("***", text)


def _stderr(line: str) -> None:
    """A retry line, timestamped like the Heartbeat's lines so a log reads in time order."""
    print(stamped(line), file=sys.stderr, flush=True)


def retryable(exc: BaseException) -> bool:
    if isinstance(exc, openai.APIConnectionError):  # includes timeouts and resets
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in (408, 409, 429) or exc.status_code >= 500
    return False


class Engine:
    """upload / create / poll / download / cancel, with retries that never double-submit."""

    def __init__(
        self,
        client: openai.OpenAI,
        *,
        attempts: int = 8,
        wait_max: float = 60.0,
        wait_min: float = 1.0,
        secret: str | None = None,
        on_retry: Callable[[str], None] = _stderr,
    ) -> None:
        self.client = client
        self.attempts, self.wait_min, self.wait_max = attempts, wait_min, wait_max
        self.secret = secret
        self.on_retry = on_retry  # hears one line per retry
        self.base_url = shown_url(client.base_url)

    def _problem(self, exc: BaseException | None) -> str:
        """What went wrong, in a few words that name the server when it could not be reached."""
        if isinstance(exc, openai.APIStatusError):
            return f"HTTP {exc.status_code}"
        if isinstance(exc, openai.APITimeoutError):
            return f"no answer from {self.base_url} (timed out)"
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc.__context__
            why = str(cause) if cause is not None and str(cause) else str(exc)
            return f"cannot reach {self.base_url} ({why})"
        return repr(exc)

    def _retrying(self, what: str, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        self.on_retry(
            redact(
                f"{what}: {self._problem(exc)}; attempt {state.attempt_number}/{self.attempts}, "
                f"retrying in {wait:.3g} s",
                self.secret,
            )
        )

    def _call(
        self, what: str, fn: Callable[[], T], before_retry: Callable[[], T | None] | None = None
    ) -> T:
        """Run ``fn`` with retries; ``before_retry`` may find the result of a lost call."""
        retrying = Retrying(
            retry=retry_if_exception(retryable),
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=self.wait_min, min=self.wait_min, max=self.wait_max),
            before_sleep=lambda state: self._retrying(what, state),
            reraise=True,
        )
        first = True
        try:
            for attempt in retrying:
                with attempt:
                    if not first and before_retry is not None:
                        found = before_retry()
                        if found is not None:
                            return found
                    first = False
                    return fn()
        except openai.APIStatusError as exc:
            raise EngineError(
                f"{what} failed: HTTP {exc.status_code}: {redact(_message(exc), self.secret)}",
                hint=_hint(exc.status_code),
            ) from None
        except openai.APIConnectionError as exc:
            raise EngineError(
                f"{what} failed after {self.attempts} attempts: "
                + redact(self._problem(exc), self.secret),
                hint="check [engine] base_url (or OPENAI_BASE_URL) and your connection",
            ) from None
        raise AssertionError("unreachable")

    # -- files -------------------------------------------------------------------
    def upload(self, path: Path, name: str) -> str:
        def send() -> str:
            with open(path, "rb") as fh:
                return self.client.files.create(file=(name, fh), purpose="batch").id

        return self._call(
            f"uploading {name}",
            send,
            before_retry=lambda: self.find_file(name, path.stat().st_size),
        )

    def find_file(self, name: str, size: int) -> str | None:
        """An uploaded batch file with this name and size (a lost upload that worked)."""
        page = self._call("listing files", lambda: self.client.files.list(purpose="batch"))
        for f in page:
            if f.filename == name and f.bytes == size:
                return f.id
        return None

    def download(self, file_id: str, dest: Path) -> None:
        """Stream a file's content to ``dest`` (atomically)."""

        def fetch() -> None:
            with (
                self.client.files.with_streaming_response.content(file_id) as resp,
                atomic_writer(dest) as fh,
            ):
                for block in resp.iter_bytes():
                    fh.write(block)

        self._call(f"downloading {file_id}", fetch)

    def delete_file(self, file_id: str) -> bool:
        """Remove a file from the organization's storage; False when it was already gone."""
        try:
            return bool(
                self._call(f"deleting {file_id}", lambda: self.client.files.delete(file_id)).deleted
            )
        except EngineError as exc:
            if "HTTP 404" in exc.message:
                return False
            raise

    # -- batches -----------------------------------------------------------------
    def create(self, file_id: str, metadata: dict[str, str]) -> Any:
        shard = metadata[META_SHARD]
        return self._call(
            f"creating the batch for {metadata.get('forge_file', file_id)}",
            lambda: self.client.batches.create(
                input_file_id=file_id, endpoint=ENDPOINT, completion_window="24h", metadata=metadata
            ),
            before_retry=lambda: self.find_batch(shard, file_id),
        )

    def find_batch(self, shard: str, file_id: str | None = None) -> Any | None:
        """The batch already created from this upload, if any (newest first).

        With ``file_id`` only a batch of that very input file counts: a later
        shard may have the same content (hence the same ``forge_shard``) as one
        whose batch finished long ago, and adopting that batch would mean the
        requests are never sent.
        """
        page = self._call("listing batches", lambda: self.client.batches.list(limit=100))
        for batch in page:
            meta = batch.metadata or {}
            if batch.errors and pacing.token_limited(batch.errors.data):
                continue  # refused for the enqueued-token cap: it ran nothing, never adopt it
            if (batch.input_file_id == file_id) if file_id else meta.get(META_SHARD) == shard:
                return batch
        return None

    def retrieve(self, batch_id: str) -> Any:
        return self._call(
            f"checking batch {batch_id}", lambda: self.client.batches.retrieve(batch_id)
        )

    def cancel(self, batch_id: str) -> Any:
        return self._call(
            f"cancelling batch {batch_id}", lambda: self.client.batches.cancel(batch_id)
        )


def _message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
    return exc.message


def _hint(status: int) -> str | None:
    return {
        401: "check OPENAI_API_KEY",
        403: "the key lacks access to the Batch API",
        404: "the id is unknown to this endpoint; check base_url",
        400: "the request was rejected as invalid",
    }.get(status)


def make_client(base_url: str, api_key: str, timeout: float = 120.0) -> openai.OpenAI:
    """The SDK client; connecting gives up after 15 s (a host that drops packets
    would otherwise hold each attempt for the whole timeout)."""
    limits = openai.Timeout(timeout, connect=min(timeout, 15.0))
    return openai.OpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=limits)


def api_key(config: Config) -> str:
    """The key the openai engine needs; commands that write check it before writing."""
    key = os.environ.get("OPENAI_API_KEY")
    if config.engine.kind == "openai" and not key:
        raise ConfigError(
            "OPENAI_API_KEY is not set",
            path=config.path,
            where="engine.kind",
            hint='export OPENAI_API_KEY=... or use kind = "local"',
        )
    return key or ""


@contextlib.contextmanager
def open_engine(config: Config, *, attempts: int = 8, wait_min: float = 1.0) -> Iterator[Engine]:
    """The configured engine; for kind "local", the embedded server runs meanwhile."""
    if config.engine.kind == "openai":
        key = api_key(config)
        base_url = (
            config.engine.base_url
            or os.environ.get("OPENAI_BASE_URL")
            or "https://api.openai.com/v1"
        )
        yield Engine(make_client(base_url, key), attempts=attempts, wait_min=wait_min, secret=key)
        return
    from . import server

    eng = config.engine
    if eng.relay:
        settings = server.RelaySettings(
            eng.relay,
            eng.relay_key_env,
            eng.relay_concurrency,
            eng.relay_timeout,
            eng.relay_attempts,
        )
        executor: server.Executor = server.RelayExecutor(settings)
    else:
        executor = server.load_executor(eng.executor, model_path=eng.model_path)
    faults = server.Faults.parse(config.engine.faults) if config.engine.faults else None
    token = os.urandom(16).hex()
    with server.LocalServer(
        config.paths.server, executor=executor, faults=faults, token=token
    ) as srv:
        try:
            yield Engine(
                make_client(srv.base_url, token), attempts=attempts, wait_min=wait_min, secret=token
            )
        except KeyboardInterrupt:
            # the model finishes its current request first; a second Ctrl-C must not
            # tear the interpreter down under its threads (see interrupt.py)
            with second_forces(restore=False):  # we exit next: a late Ctrl-C still forces
                srv.stop()
            raise
