"""The background thread that moves batches through their lifecycle.

validating -> in_progress -> finalizing -> completed (or failed / expired /
cancelling -> cancelled). One thread, FIFO: the model uses every core, so
running batches side by side would only make each slower. Every step reads
its starting point from the store and the journal, so a batch left half-done
by a stop or a crash resumes where it was, without running a line twice.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from . import ids
from .apierrors import error_body
from .executors import Executor
from .faults import Faults, damage_completion, fault_response, think
from .journal import Journal, is_ok
from .lanes import Interrupted, Lanes, concurrency_of
from .results import arrange, dump, line_record, tokens_of, unrun_record, usage_obj
from .store import TERMINAL, Store, now
from .validate import InputCheck, check_input, iter_requests

log = logging.getLogger(__name__)

CHECKPOINT_SECONDS = 0.25  # how often progress is persisted while lines run
TICK = 0.05
_FINISH_FROM = {
    "completed": {"finalizing"},
    "expired": {"in_progress"},
    "cancelled": {"cancelling"},
    "failed": {"in_progress"},
}


class Stopped(Exception):
    """The server is shutting down; leave the batch where it is."""


class Worker:
    """Runs queued batches one at a time in a daemon thread."""

    def __init__(self, store: Store, executor: Executor, faults: Faults) -> None:
        self.store = store
        self.executor = executor
        self.faults = faults
        self._queue: collections.deque[str] = collections.deque()
        self._cond = threading.Condition()
        self._busy = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="forge-batch-worker", daemon=True)

    # -- control ---------------------------------------------------------------

    def start(self) -> None:
        resume = getattr(self.executor, "resume", None)
        if callable(resume):
            resume()
        for batch_id in self.store.unfinished_batches():
            self.submit(batch_id)
        self._thread.start()

    def submit(self, batch_id: str) -> None:
        with self._cond:
            self._queue.append(batch_id)
            self._cond.notify_all()

    def stop(self, timeout: float | None = None) -> None:
        """Stop after the current line; unfinished batches resume on next start."""
        self._stop.set()
        interrupt = getattr(self.executor, "interrupt", None)
        if callable(interrupt):  # a relay ends its waits; the lines run again on resume
            interrupt()
        with self._cond:
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until the queue is empty and no batch is running."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._queue or self._busy:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stop.is_set():
                    self._cond.wait()
                if self._stop.is_set():
                    return
                batch_id = self._queue.popleft()
                self._busy = True
            try:
                self._process(batch_id)
            except Stopped:
                return
            except Exception as exc:
                log.exception("batch %s failed inside the server", batch_id)
                self._fail(batch_id, "server_error", f"internal error: {exc}")
            finally:
                self._release_input(batch_id)
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    # -- steps -----------------------------------------------------------------

    def _process(self, batch_id: str) -> None:
        batch = self.store.get_batch(batch_id)
        if batch is None or batch["status"] in TERMINAL:
            return
        if batch["model"] is None and not self._validate(batch):
            return
        status = self.store.status(batch_id)
        if status in ("in_progress", "cancelling"):
            self._run_lines(batch_id)
        elif status == "finalizing":
            self._finalize(batch_id)

    def _validate(self, batch: dict[str, Any]) -> bool:
        """Check the input file; False when the batch ended here."""
        batch_id = batch["id"]
        if batch["status"] == "cancelling":
            self.store.transition(batch_id, {"cancelling"}, "cancelled", cancelled_at=now())
            return False
        try:
            pinned = self.store.pin_input(batch_id, batch["input_file_id"])
            check = check_input(pinned, batch["endpoint"])
        except FileNotFoundError:
            msg = f"The input file {batch['input_file_id']} was deleted."
            check = InputCheck(errors=[_error("missing_input_file", msg, None)])
        if self.store.forced_invalid(batch_id):
            msg = "Injected validation failure (fault fail_validation)."
            check.errors = [_error("invalid_request", msg, 1)]
        if check.errors:
            errors = {"object": "list", "data": check.errors}
            if not self.store.transition(
                batch_id, {"validating"}, "failed", failed_at=now(), errors=errors
            ):
                self.store.transition(batch_id, {"cancelling"}, "cancelled", cancelled_at=now())
            return False
        counts = {"total": check.total, "completed": 0, "failed": 0}
        fields = {"model": check.model, "request_counts": counts}
        if not self.store.transition(
            batch_id, {"validating"}, "in_progress", in_progress_at=now(), **fields
        ):
            self.store.update_batch(batch_id, **fields)  # cancelled meanwhile: keep the facts
        return True

    def _run_lines(self, batch_id: str) -> None:
        batch = self.store.get_batch(batch_id)
        assert batch is not None
        journal = Journal(self.store.journal_path(batch_id))
        done = journal.load()
        total = batch["request_counts"]["total"]
        ok = sum(1 for r in done.values() if is_ok(r))
        prompt = sum(tokens_of(r)[0] for r in done.values())
        completion = sum(tokens_of(r)[1] for r in done.values())
        last_checkpoint = time.monotonic()
        lanes = Lanes(self._run_line, concurrency_of(self.executor))

        def checkpoint(persist: bool) -> None:
            counts = {"total": total, "completed": ok, "failed": len(done) - ok}
            if persist:
                journal.sync()
            usage = usage_obj(prompt, completion)
            self.store.update_batch(batch_id, persist=persist, request_counts=counts, usage=usage)

        def record(finished: list[dict[str, Any]]) -> None:
            nonlocal ok, prompt, completion, last_checkpoint
            for rec in finished:
                journal.append(rec)
                done[rec["custom_id"]] = rec
                ok += is_ok(rec)
                p, c = tokens_of(rec)
                prompt, completion = prompt + p, completion + c
            if finished:
                due = time.monotonic() - last_checkpoint >= CHECKPOINT_SECONDS
                checkpoint(due)
                if due:
                    last_checkpoint = time.monotonic()

        try:
            for custom_id, body in iter_requests(self._input_path(batch)):
                if custom_id in done:
                    continue
                if self._stop.is_set():
                    record(lanes.drain())  # lines in flight were paid for: keep them
                    checkpoint(True)
                    raise Stopped
                if self.store.status(batch_id) == "cancelling":
                    record(lanes.drain())
                    journal.close()
                    self._finish(batch_id, "cancelled")
                    return
                expire_after = self.faults.expire_after
                if expire_after is not None and len(done) + lanes.in_flight >= expire_after:
                    record(lanes.drain())
                    journal.close()
                    self._finish(batch_id, "expired")
                    return
                record(lanes.submit(batch_id, custom_id, body))
                if self.faults.line_delay:
                    self._sleep(self.faults.line_delay, batch_id)
            record(lanes.drain())
        except FileNotFoundError:  # only for state from before inputs were pinned
            record(lanes.drain())
            journal.close()
            if self.store.status(batch_id) == "cancelling":
                self._finish(batch_id, "cancelled")
            else:
                msg = f"The input file {batch['input_file_id']} was deleted while the batch ran."
                errors = {"object": "list", "data": [_error("missing_input_file", msg, None)]}
                self._finish(batch_id, "failed", errors=errors)  # finished answers are kept
            return
        finally:
            lanes.close()
            journal.close()
        checkpoint(True)
        if self.store.transition(batch_id, {"in_progress"}, "finalizing", finalizing_at=now()):
            self._finalize(batch_id)
        else:
            self._finish(batch_id, "cancelled")

    def _run_line(self, batch_id: str, custom_id: str, body: dict[str, Any]) -> dict[str, Any]:
        fault = self.faults.line_fault(self.store.seq(batch_id), custom_id)
        if fault in ("500", "400"):
            status, response = fault_response(fault)
        else:
            try:
                if self.faults.reasoning:
                    result = think(body, self.executor)
                else:
                    result = self.executor(body)
                status, response = result
                if not isinstance(status, int) or not isinstance(response, dict):
                    raise TypeError(f"expected (int, dict), got {type(result).__name__}")
                orjson.dumps(response)  # it must fit in the journal (no NaN keys, huge ints)
            except Interrupted:
                raise
            except Exception as exc:
                log.warning("executor failed on %s: %s", custom_id, exc)
                status, response = 500, error_body(f"executor error: {exc}", type="server_error")
            if status == 200 and fault is not None:
                response = damage_completion(fault, response)
        return line_record(batch_id, custom_id, status, response)

    def _finalize(self, batch_id: str) -> None:
        if self.faults.slow_finalize:
            self._sleep(self.faults.slow_finalize, None)
            if self._stop.is_set():
                raise Stopped
        self._finish(batch_id, "completed")

    def _finish(self, batch_id: str, final: str, errors: dict[str, Any] | None = None) -> None:
        """Write the output and error files and move to a terminal status.

        Every finished line is delivered, whatever the final status: those
        answers were paid for.
        """
        batch = self.store.get_batch(batch_id)
        assert batch is not None
        journal = Journal(self.store.journal_path(batch_id))
        done = journal.load()
        unrun: list[str] = []
        if final in ("expired", "cancelled"):
            try:
                unrun = [
                    cid for cid, _ in iter_requests(self._input_path(batch)) if cid not in done
                ]
            except FileNotFoundError:  # input gone (state from before pinning): cannot list them
                unrun = []
        code = "batch_expired" if final == "expired" else "batch_cancelled"
        records = list(done.values())
        n_ok = sum(1 for r in records if is_ok(r))
        n_err = len(records) - n_ok + len(unrun)
        fields: dict[str, Any] = {"output_file_id": None, "error_file_id": None}
        if errors is not None:
            fields["errors"] = errors
        if n_ok:
            lines = dump(r for r in records if is_ok(r))
            fields["output_file_id"] = self._write_output(batch_id, "output", lines)
        if n_err:
            failed = [r for r in records if not is_ok(r)]
            failed += [unrun_record(batch_id, cid, code) for cid in unrun]
            fields["error_file_id"] = self._write_output(batch_id, "error", dump(failed))
        fields["request_counts"] = {
            "total": batch["request_counts"]["total"],
            "completed": n_ok,
            "failed": n_err,
        }
        tokens = [tokens_of(r) for r in records]
        fields["usage"] = usage_obj(sum(t[0] for t in tokens), sum(t[1] for t in tokens))
        allowed = _FINISH_FROM[final]
        moved = self.store.transition(batch_id, allowed, final, **{f"{final}_at": now()}, **fields)
        if not moved and final != "cancelled" and self.store.status(batch_id) == "cancelling":
            self._finish(batch_id, "cancelled")  # a cancel arrived while the files were written
            return
        journal.remove()

    def _write_output(self, batch_id: str, which: str, lines: Iterable[bytes]) -> str:
        file_id = ids.derived("file-", batch_id, which)
        lines = arrange(lines, self.faults, self.store.seq(batch_id), which)
        self.store.write_file(file_id, f"{batch_id}_{which}.jsonl", "batch_output", lines)
        return file_id

    # -- helpers ---------------------------------------------------------------

    def _input_path(self, batch: dict[str, Any]) -> Path:
        pinned = self.store.input_copy_path(batch["id"])
        return pinned if pinned.exists() else self.store.data_path(batch["input_file_id"])

    def _release_input(self, batch_id: str) -> None:
        """Drop the batch's link to its input once the batch is over."""
        try:
            if self.store.status(batch_id) in TERMINAL:
                self.store.unpin_input(batch_id)
        except Exception:
            log.exception("could not remove the input link of batch %s", batch_id)

    def _sleep(self, seconds: float, batch_id: str | None) -> None:
        """Sleep, waking early on stop or (for a running batch) on cancel."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if self._stop.wait(min(left, TICK)):
                return
            if batch_id is not None and self.store.status(batch_id) == "cancelling":
                return

    def _fail(self, batch_id: str, code: str, message: str) -> None:
        try:
            errors = {"object": "list", "data": [_error(code, message, None)]}
            allowed = {"validating", "in_progress", "finalizing", "cancelling"}
            self.store.transition(batch_id, allowed, "failed", failed_at=now(), errors=errors)
        except Exception:
            log.exception("could not mark batch %s failed", batch_id)


def _error(code: str, message: str, line: int | None) -> dict[str, Any]:
    return {"code": code, "message": message, "line": line, "param": None}
