"""submit: upload each written shard, create its batch, follow it to the end.

Every step is recorded in the ledger before the next begins (intent, file id,
batch id), so a crash at any point is resumed without a second upload or a
second batch: a shard left "uploading" looks for its file before uploading
again; one left "uploaded" looks for its batch before creating one.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import click

from . import pacing, progress
from .config import Config
from .engine import META_SHARD, Engine
from .errors import EngineError, QuotaHeldError, StateError
from .ledger import SETTLED, TERMINAL, ShardRecord, State, project_lock
from .shards import file_sha256


@dataclass(slots=True)
class SubmitResult:
    submitted: list[ShardRecord] = field(default_factory=list)
    resumed: list[ShardRecord] = field(default_factory=list)
    in_flight: int = 0
    queued: int = 0  # shards waiting for room under [engine] enqueued_token_limit
    requeued: int = 0  # batches that failed with token_limit_exceeded, back in the queue


def _apply(rec: ShardRecord, batch: Any) -> bool:
    """Copy a batch's state into its record; True when something changed."""
    counts = batch.request_counts.model_dump() if batch.request_counts else None
    errors = (
        [e.model_dump(exclude_none=True) for e in (batch.errors.data or [])] if batch.errors else []
    )
    new = (batch.status, counts, batch.output_file_id, batch.error_file_id, errors)
    old = (rec.status, rec.request_counts, rec.output_file_id, rec.error_file_id, rec.errors)
    rec.batch_id = batch.id
    rec.status, rec.request_counts, rec.output_file_id, rec.error_file_id, rec.errors = new
    return new != old


def _requeue_if_limited(rec: ShardRecord) -> bool:
    """A batch that failed with token_limit_exceeded ran nothing: not an attempt.

    The shard goes back to "queued" (keeping its uploaded file) and is
    submitted again when there is room; the refused batch's id is kept in
    ``refused``.
    """
    if rec.status != "failed" or not pacing.token_limited(rec.errors):
        return False
    if rec.batch_id:
        rec.refused.append(rec.batch_id)  # kept: every batch the API created is accounted for
    rec.state, rec.batch_id, rec.status = "queued", None, None
    rec.request_counts, rec.errors = None, []
    return True


def _enqueued(state: State) -> int:
    return sum(
        pacing.tokens(r.bytes)
        for r in state.ledger.values()
        if r.state == "submitted" and r.status not in TERMINAL
    )


def submit_shards(
    state: State, engine: Engine, limit: int | None = None, *, probe: bool = False
) -> SubmitResult:
    """Upload and create a batch for every shard of the manifest not yet submitted.

    With ``limit`` (enqueued tokens), shards past it wait as "queued", in
    manifest order; a later call submits them once earlier batches have ended.
    With ``probe``, only the first queued shard is tried (other jobs held the
    quota: one refused batch tells as much as all of them).
    """
    result = SubmitResult()
    full = False  # once one shard waits, the later ones wait behind it
    for info in state.manifest:
        rec = state.record(info.file, info.sha256)
        if rec is not None and rec.state in ("submitted", *SETTLED):
            continue
        path = state.folder / info.file
        if not path.exists() or file_sha256(path) != info.sha256:
            raise StateError(
                "shard changed or vanished since prepare wrote it",
                path=path,
                hint="run forge-batch prepare again",
            )
        resumed = rec is not None
        room = not full and pacing.fits(limit, _enqueued(state), pacing.tokens(info.bytes))
        if rec is None:
            rec = ShardRecord.of(
                info,
                upload_name=f"{path.stem}-{info.sha256[:12]}.jsonl",
                state="uploading" if room else "queued",
            )
            state.add(rec)
            state.save_ledger()  # intent first: a crash from here on is resumable
        elif rec.state == "queued" and room:
            resumed = rec.file_id is not None  # a requeued batch: look for its new batch
            rec.state = "uploaded" if rec.file_id else "uploading"
            state.save_ledger()
            full = probe
        if rec.state == "queued":
            full = True
            result.queued += 1
            continue
        if rec.state == "uploading":
            found = engine.find_file(rec.upload_name, rec.bytes) if resumed else None
            rec.file_id = found or engine.upload(path, rec.upload_name)
            rec.state = "uploaded"
            state.save_ledger()
        if rec.state == "uploaded":
            assert rec.file_id is not None
            batch = engine.find_batch(rec.sha256, rec.file_id) if resumed else None
            if batch is None:
                batch = engine.create(
                    rec.file_id,
                    {META_SHARD: rec.sha256, "forge_file": rec.file, "forge_stage": rec.stage},
                )
            _apply(rec, batch)
            rec.state = "submitted"
            if _requeue_if_limited(rec):
                result.requeued += 1
                full = True
            state.save_ledger()
        (result.resumed if resumed else result.submitted).append(rec)
    result.in_flight = sum(1 for r in state.ledger.values() if r.state == "submitted")
    return result


def refresh(state: State, engine: Engine) -> list[ShardRecord]:
    """Fetch the state of every submitted batch that is not terminal yet.

    A batch that failed with token_limit_exceeded goes back to the queue.
    """
    changed = False
    for rec in state.ledger.values():
        if rec.state == "submitted" and rec.status not in TERMINAL and rec.batch_id:
            changed |= _apply(rec, engine.retrieve(rec.batch_id))
            changed |= _requeue_if_limited(rec)
    if changed:
        state.save_ledger()
    return [r for r in state.ledger.values() if r.state == "submitted"]


def queued(state: State) -> list[ShardRecord]:
    return [r for r in state.ledger.values() if r.state == "queued"]


def _label(records: list[ShardRecord]) -> str:
    by_status: dict[str, int] = {}
    for r in records:
        by_status[r.status or "?"] = by_status.get(r.status or "?", 0) + 1
    return ", ".join(f"{n} {s}" for s, n in sorted(by_status.items()))


def _refusals(state: State) -> int:
    """Batches the API ever refused for the enqueued-token cap (grows by one per refusal)."""
    return sum(len(r.refused) for r in state.ledger.values())


def _ended(records: list[ShardRecord]) -> int:
    return sum(1 for r in records if r.status in TERMINAL)


def quota_line(state: State, hold: pacing.Hold) -> str:
    """Why the wait goes on while other jobs hold the enqueued-token quota."""
    models = sorted({r.model for r in queued(state)})
    return (
        f"the organization's enqueued-token quota for {', '.join(models) or 'the model'} is held "
        f"by other batches: waited {hold.waited():,.0f} s of {hold.patience:,.0f} s "
        f"([engine] queue_wait), {len(queued(state))} shard(s) queued"
    )


def wait(
    state: State,
    engine: Engine,
    interval: float,
    sleep: Callable[[float], None] = time.sleep,
    top_up: Callable[[bool], object] | None = None,
    beat: progress.Heartbeat | None = None,
    patience: float = 3600.0,
    clock: Callable[[], float] = time.monotonic,
    refusals: int | None = None,
) -> list[ShardRecord]:
    """Poll until every submitted batch is terminal, with a growing interval.

    With ``top_up``, queued shards (paced under [engine] enqueued_token_limit,
    or refused by the API for its enqueued-token cap) are submitted as earlier
    batches end, and the wait lasts until none is left. A refused shard is not
    tried again on every poll (pacing.Hold): with a batch of ours in flight it
    waits for one to end; with none, other jobs hold the quota, so retries back
    off, each wait is said on stderr, and after ``patience`` seconds
    QuotaHeldError stops the command with the shards still queued.
    ``refusals`` is the ledger's count of refused batches before the caller
    submitted (so a refusal at that submit counts).
    A progress bar of request counts goes to stderr; its label names the
    batch states, so a batch sitting in "finalizing" does not look hung.
    """
    records = refresh(state, engine)
    total = sum(r.lines for r in records) + sum(r.lines for r in queued(state))
    bar = None
    if progress.enabled() and total:
        bar = click.progressbar(length=total, label="batches", file=sys.stderr, show_pos=True)
        bar.__enter__()
    done_before, delay = 0, interval
    beat = beat or progress.Heartbeat()
    started = clock()
    hold = pacing.Hold(patience, clock)
    refused = _refusals(state) if refusals is None else refusals
    # batches of ours seen ended, and ended when the last attempt to submit was made; 0 at
    # first: one that ended since the caller's submit may have been what the API counted
    ended = mark = 0

    def line() -> str:
        if hold.pause() is not None:
            return quota_line(state, hold)
        counts = [r.request_counts or {} for r in records]
        done = sum(c.get("completed", 0) + c.get("failed", 0) for c in counts)
        waiting = len(queued(state))
        return (
            f"waiting {clock() - started:,.0f} s: {len(records)} batch(es) "
            f"({_label(records) or 'none'}), {done:,}/{total:,} requests done"
            + (f", {waiting} shard(s) queued" if waiting else "")
        )

    def ours() -> bool:
        return any(r.status not in TERMINAL for r in records)

    def notice_refusals() -> None:
        nonlocal refused
        if _refusals(state) == refused:
            return
        refused = _refusals(state)
        # ours may have filled the quota: one is in flight, or one ended since the attempt
        hold.refused(ours() or _ended(records) > mark)
        if hold.expired:
            raise QuotaHeldError(
                quota_line(state, hold) + "; nothing is lost, they stay queued",
                hint="run the same command again later",
            )
        if hold.pause() is not None:
            beat.phase(quota_line(state, hold))

    if ours():
        beat.phase(line())
    try:
        notice_refusals()
        while ours() or (top_up and queued(state)):
            pause = hold.pause()
            sleep(delay if pause is None else pause)
            delay = min(max(delay * 1.5, interval), max(interval * 12, interval))
            records = refresh(state, engine)
            if _ended(records) > ended:  # room came free
                hold.ended()
                ended = _ended(records)
            notice_refusals()
            if not ours():
                hold.idle()  # nothing of ours left to end: a wait for one is over
            if top_up is not None and queued(state) and not hold.held():
                mark = _ended(records)
                top_up(hold.since is not None)  # blocked by others: probe with one shard
                records = refresh(state, engine)
                notice_refusals()
            done = sum(
                (r.request_counts or {}).get("completed", 0)
                + (r.request_counts or {}).get("failed", 0)
                for r in records
            )
            beat.tick(line)
            if bar is not None:
                held = hold.pause() is not None
                bar.label = (
                    "batches (" + ("quota held by others" if held else _label(records)) + ")"
                )
                bar.update(max(0, done - done_before))
            done_before = max(done, done_before)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    return records


def submit(
    config: Config,
    engine: Engine,
    *,
    wait_for: bool = False,
    poll_interval: float | None = None,
    beat: progress.Heartbeat | None = None,
) -> SubmitResult:
    """Submit what prepare wrote; with ``wait_for``, poll until all batches end."""
    beat = beat or progress.Heartbeat(active=wait_for and progress.lines_wanted())
    with project_lock(config.paths.batches):
        state = State(config.paths.batches)
        limit = config.engine.enqueued_token_limit
        refusals = _refusals(state)
        result = submit_shards(state, engine, limit)
        if result.submitted or result.resumed or result.queued:
            beat.phase(
                f"submit: {len(result.submitted)} batch(es) created, {len(result.resumed)} "
                f"resumed, {result.queued} queued"
            )

        def top_up(probe: bool = False) -> None:
            more = submit_shards(state, engine, limit, probe=probe)
            result.submitted += more.submitted
            result.resumed += more.resumed
            result.requeued += more.requeued
            result.queued = more.queued

        if wait_for:
            interval = config.engine.poll_interval if poll_interval is None else poll_interval
            wait(
                state,
                engine,
                interval,
                top_up=top_up,
                beat=beat,
                patience=config.engine.queue_wait,
                refusals=refusals,
            )
            result.queued = len(queued(state))
    return result


UNCANCELLABLE = frozenset({"finalizing", "cancelling", *TERMINAL})


@dataclass(slots=True)
class Cancelled:
    batches: list[ShardRecord] = field(default_factory=list)  # asked to cancel
    withdrawn: list[ShardRecord] = field(default_factory=list)  # queued shards taken back


def withdraw(rec: ShardRecord, engine: Engine, keep_inputs: bool) -> None:
    """Take a queued shard back: no batch of it runs, its requests are pending again.

    Like the lines a cancelled batch never ran, they are sent by the next
    ``run`` (or ``prepare`` + ``submit``), not by a plain ``submit``; unlike
    them they cost no attempt, since none was sent. An input file uploaded for
    it (a batch the API refused for its enqueued-token cap) is deleted unless
    ``[engine] keep_inputs``, as collect does; refused batch ids stay recorded.
    """
    if rec.file_id and not keep_inputs and rec.file_id not in rec.deleted:
        engine.delete_file(rec.file_id)
        rec.deleted.append(rec.file_id)
    rec.state = "withdrawn"


def cancel(config: Config, engine: Engine) -> Cancelled:
    """Ask every batch in flight to stop and withdraw every queued shard.

    collect brings back what the batches finished; the next ``run`` resends
    the rest, the withdrawn shards' requests with it (``submit`` alone, e.g.
    ``submit --wait`` to see the cancelled batches end, sends nothing new).
    The ledger's status may be old: each batch is checked first, and one that
    finished (or began finalizing) meanwhile is recorded, not cancelled. The
    API refuses to cancel those with a 400, which would stop the loop and
    leave the remaining batches running.
    """
    with project_lock(config.paths.batches):
        state = State(config.paths.batches)
        out = Cancelled()
        for rec in state.ledger.values():
            if rec.state == "queued":
                withdraw(rec, engine, config.engine.keep_inputs)
                out.withdrawn.append(rec)
                state.save_ledger()
                continue
            if rec.state != "submitted" or not rec.batch_id or rec.status in TERMINAL:
                continue
            _apply(rec, engine.retrieve(rec.batch_id))
            if rec.status not in UNCANCELLABLE:
                try:
                    _apply(rec, engine.cancel(rec.batch_id))
                    out.batches.append(rec)
                except EngineError:  # it moved on between the two calls
                    _apply(rec, engine.retrieve(rec.batch_id))
                    if rec.status not in UNCANCELLABLE:
                        raise
            state.save_ledger()
    return out
