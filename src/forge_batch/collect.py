"""collect: bring every finished batch's responses into the cache.

For each batch in a terminal state, the output and error files are downloaded
and matched to the shard's requests by ``custom_id``, never by position (the
Batch API does not keep order). A 200 response whose body passes
response.check goes into the cache under its key; a 200 that does not is an
``invalid_response`` failure (never cached); anything else is a failure with
its reason, and so is every request the batch never answered (expired,
cancelled, failed validation). Failed requests become pending again, and
prepare resends exactly those. A batch is marked
collected only after its responses are in the cache, so a crash mid-way just
means the next collect ingests it again (cache writes are idempotent).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cache import ResponseCache
from .config import Config
from .engine import Engine
from .errors import InputError
from .fsio import json_lines, open_regular
from .ledger import RETRYABLE_STATUS, TERMINAL, Failure, ShardRecord, State, project_lock
from .response import REASON as INVALID
from .response import check as check_response
from .sentkeys import sent_keys
from .shards import read_keys
from .submit import refresh

PUT_BATCH = 1000


@dataclass(slots=True)
class Ingested:
    batch_id: str
    file: str
    status: str
    cached: int = 0
    failed: int = 0
    foreign: int = 0  # lines whose custom_id is not in the shard
    repeated: int = 0  # lines answering a request already answered in this batch
    reasons: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class CollectResult:
    batches: list[Ingested] = field(default_factory=list)
    waiting: int = 0  # batches still running
    deleted: int = 0  # files removed from the API's storage after collecting
    imported: Imported | None = None


def iter_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, record) of a Batch output/error file; malformed input is an error."""
    with open(path, "rb") as fh:
        for n, record in json_lines(fh, path, InputError):
            key = record.get("custom_id") if isinstance(record, dict) else None
            if not isinstance(key, str):
                why = "no custom_id"
                if key is not None:
                    why = f"custom_id must be a string, got {type(key).__name__}"
                raise InputError(
                    f"not a Batch API result line ({why})", path=path, where=f"line {n}"
                )
            yield n, record


def _text(value: Any, limit: int = 500) -> str:
    """A message from outside as one bounded string (only strings are taken as text)."""
    return value[:limit] if isinstance(value, str) else ""


def _error_message(body: Any, error: Any) -> str:
    """The message of a failed line: OpenAI puts it in the response body, vLLM's
    run-batch in ``error`` (its ErrorResponse ``{"error": {"message": ...}}``, or
    the text of an exception), with a null body."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return _text(body["error"].get("message"))
    if isinstance(error, dict):
        inner = error.get("error")
        return _text((inner if isinstance(inner, dict) else error).get("message"))
    return _text(error)


def classify(record: dict[str, Any]) -> tuple[dict[str, Any] | None, tuple[str, str, bool] | None]:
    """-> (checked chat.completion body, None) or (None, (reason, message, retryable)).

    A 200 whose body fails response.check is ``invalid_response``: never cached,
    and retryable. It was paid for, but a resend may well come back sound, and
    the ledger's ``engine.max_attempts`` bounds the resends: a server that always
    answers malformed costs at most that many attempts, then the request is
    given up (a ``request_failed`` reject naming the problem).
    """
    response = record.get("response")
    error = record.get("error")
    if isinstance(response, dict):
        status = response.get("status_code")
        body = response.get("body")
        if status == 200 and not isinstance(status, bool):
            checked, problem = check_response(body)
            if checked is not None:
                return checked, None
            return None, (INVALID, problem or "malformed body", True)
        message = _error_message(body, error)
        code = status if isinstance(status, int) and not isinstance(status, bool) else 0
        if not 0 <= code <= 999:
            code = 0
        return None, (f"http_{code}", message or f"HTTP {code}", code in RETRYABLE_STATUS)
    if isinstance(error, dict):
        raw = error.get("code")
        code = str(raw) if isinstance(raw, int) and not isinstance(raw, bool) else _text(raw, 100)
        code = code or "error"
        return None, (code, _text(error.get("message")), True)
    return None, ("malformed_result", "result line has neither response nor error", True)


def _unanswered_reason(rec: ShardRecord) -> tuple[str, str]:
    status = rec.status or "unknown"
    if status == "failed":
        first = (rec.errors or [{}])[0]
        where = f" (line {first['line']})" if first.get("line") else ""
        return "validation_failed", f"{first.get('message', 'batch failed validation')}{where}"
    return {
        "expired": ("batch_expired", "the batch expired before this request ran"),
        "cancelled": ("batch_cancelled", "the batch was cancelled before this request ran"),
    }.get(status, ("missing_from_output", f"batch {status} without a result for it"))


def ingest(rec: ShardRecord, state: State, engine: Engine, cache: ResponseCache) -> Ingested:
    """Download a terminal batch's files, fill the cache, record the failures."""
    assert rec.batch_id is not None
    expected = set(read_keys(state.folder / rec.file))
    result = Ingested(rec.batch_id, rec.file, rec.status or "")
    answered: set[str] = set()
    failures: dict[str, Failure] = {}
    tmp = state.folder / f".download-{os.getpid()}.jsonl"
    try:
        for file_id in (rec.output_file_id, rec.error_file_id):
            if not file_id:
                continue
            engine.download(file_id, tmp)
            batch: list[tuple[str, dict[str, Any], str | None]] = []
            for _, record in iter_lines(tmp):
                key = record["custom_id"]
                if key not in expected:
                    result.foreign += 1
                    continue
                if key in answered:
                    result.repeated += 1
                    continue
                body, failure = classify(record)
                if body is not None:
                    answered.add(key)
                    failures.pop(key, None)
                    batch.append((key, body, rec.batch_id))
                    if len(batch) >= PUT_BATCH:
                        result.cached += cache.put_many(batch, checked=True)
                        batch = []
                elif failure is not None and key not in failures:
                    failures[key] = Failure(key, rec.batch_id, *failure)
            result.cached += cache.put_many(batch, checked=True)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    reason, message = _unanswered_reason(rec)
    for key in sorted(expected - answered - failures.keys()):
        failures[key] = Failure(key, rec.batch_id, reason, message, True)
    ordered = sorted(failures.values(), key=lambda f: f.key)
    for f in ordered:
        result.reasons[f.reason] = result.reasons.get(f.reason, 0) + 1
    result.failed = len(ordered)
    cache.sync()  # the responses durable before the ledger says so
    state.write_failures(rec.batch_id, ordered)
    rec.state = "collected"
    rec.collected = {
        "cached": result.cached,
        "failed": result.failed,
        "foreign": result.foreign,
        "repeated": result.repeated,
    }
    state.save_ledger()
    return result


def tidy(rec: ShardRecord, state: State, engine: Engine, config: Config) -> int:
    """Delete a collected batch's files from the API's storage, as configured.

    Uploaded inputs go by default (``[engine] keep_inputs``): they stay in the
    organization's storage, counting against its limit, until deleted. Output
    and error files go with ``keep_outputs = false``. Runs only after the
    responses are in the cache and the batch is marked collected; each deletion
    is recorded, and a file already gone counts as deleted.
    """
    if rec.state != "collected":
        return 0
    wanted = [] if config.engine.keep_inputs else [rec.file_id]
    if not config.engine.keep_outputs:
        wanted += [rec.output_file_id, rec.error_file_id]
    todo = [f for f in wanted if f and f not in rec.deleted]
    for file_id in todo:
        engine.delete_file(file_id)
        rec.deleted.append(file_id)
        state.save_ledger()
    return len(todo)


def collect_batches(config: Config, engine: Engine) -> CollectResult:
    """Ingest every terminal batch not yet collected, then tidy the API's file storage."""
    out = CollectResult()
    with project_lock(config.paths.batches):
        state = State(config.paths.batches)
        records = refresh(state, engine)
        with ResponseCache(config.paths.cache) as cache:
            for rec in sorted(records, key=lambda r: r.file):
                if rec.status in TERMINAL:
                    out.batches.append(ingest(rec, state, engine, cache))
                else:
                    out.waiting += 1
        for rec in sorted(state.ledger.values(), key=lambda r: r.file):
            out.deleted += tidy(rec, state, engine, config)
    return out


@dataclass(slots=True)
class Imported:
    path: Path
    cached: int = 0
    failed: int = 0
    unknown: int = 0  # custom_ids this project never sent
    reasons: dict[str, int] = field(default_factory=dict)  # why lines failed
    first: str = ""  # the first failed line and its message, to show where to look
    given_up: int = 0  # failed requests that will not be sent again


def import_id(path: Path) -> str:
    """The attempt an imported file stands for, named by its content.

    Its failures are recorded under this id (``failures/<id>.jsonl``), so
    importing the same file again replaces them instead of counting a second
    attempt, while a later file (the run-batch output of the resent shard) is
    an attempt of its own.
    """
    with open(path, "rb") as fh:
        return "import-" + hashlib.file_digest(fh, "sha256").hexdigest()[:24]


def import_file(config: Config, path: Path) -> Imported:
    """Ingest a Batch output or error file obtained by hand (e.g. from a dashboard,
    or the output of ``vllm run-batch``).

    The whole file is validated before anything is written: a malformed line
    is an InputError naming the line, and the cache stays as it was. Lines are
    matched by custom_id to the requests this project wrote into shards. Failed
    lines go through the ledger's failure records as a batch's error file does:
    a retriable one (429, 5xx, a malformed answer) is pending and the next
    prepare resends it; a final one (another 4xx) is given up at once, a
    ``request_failed`` reject with the line's reason.
    """
    with open_regular(path, "Batch file", InputError):
        pass  # only a regular file: a FIFO would hang, /dev/zero never ends
    if sum(1 for _ in iter_lines(path)) == 0:  # validates every line, keeps none
        raise InputError("no Batch result lines in the file", path=path)
    result = Imported(path)
    answered: set[str] = set()
    failures: dict[str, tuple[str, str, bool]] = {}  # key -> (reason, message, retryable)
    with project_lock(config.paths.batches):
        state = State(config.paths.batches)
        sent = sent_keys(state.folder, state.manifest)
        with ResponseCache(config.paths.cache) as cache:
            good: list[tuple[str, dict[str, Any], str | None]] = []
            for n, record in iter_lines(path):  # second pass: the file is known good
                key = record["custom_id"]
                if key not in sent:
                    result.unknown += 1
                    continue
                if key in answered:
                    continue  # a repeated answer: the first one is kept
                body, failure = classify(record)
                if body is None:
                    why, message, retryable = failure or ("malformed_result", "", True)
                    result.first = result.first or f"line {n}: {why}: {message}"[:300]
                    failures.setdefault(key, (why, message, retryable))
                    continue
                answered.add(key)
                failures.pop(key, None)
                good.append((key, body, f"import:{path.name}"))
                if len(good) >= PUT_BATCH:
                    result.cached += cache.put_many(good, checked=True)
                    good = []
            result.cached += cache.put_many(good, checked=True)
        attempt = import_id(path) if failures else ""  # hashed only when there is a failure
        ordered = [Failure(key, attempt, *failures[key]) for key in sorted(failures)]
        for f in ordered:
            result.reasons[f.reason] = result.reasons.get(f.reason, 0) + 1
        result.failed = len(ordered)
        if ordered:  # after the cache: a crash before this line only loses the attempt count
            state.write_failures(attempt, ordered)
            summary = state.failure_summary(config.engine.max_attempts)
            result.given_up = sum(1 for f in ordered if summary[f.key][2])
    return result
