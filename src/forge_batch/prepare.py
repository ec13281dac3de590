"""prepare: render every planned request, write the ones not yet paid for into shards.

A request is skipped when its key is in the cache (paid for; an entry whose
checksum fails is dropped and counts as pending), in a shard that
was submitted and not yet collected (in flight), or given up after its failed
attempts; everything else is pending and goes into ``<stage>-NNNN.jsonl``.
Shards written earlier but never submitted are rewritten from scratch, so the
same pending set always gives byte-identical shards.

Keys come from the command's request index (rendered once, or read from what
the last prepare stored); a request is rendered for its body only when it is
written. The requests of a stage planned from accepted samples (paraphrases
of accepted seeds) come from the accepted record the last build (or prepare)
wrote; only when the responses they were decided from changed since are the
input stages judged again (``judging.Passes``), and the record rewritten.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from . import accepted, pacing, progress
from . import pilot as pilot_mod
from .accepted import Chain
from .cache import ResponseCache
from .config import Config
from .index import RequestIndex
from .judging import judge_until
from .keyset import KeySet
from .ledger import State, in_flight_keys, project_lock
from .real import check_real
from .shards import ShardInfo, ShardWriter, batch_line, shard_number
from .stages import BY_NAME, STAGES, Request, Stage
from .tools import ToolSet, project_tools

# Requests classified per cache query. Each holds its body, and orjson returns
# bodies with spare capacity: 512 keeps that under ~15 MB (2048 cost ~50 MB).
CHUNK = 512


@dataclass(slots=True)
class StageCounts:
    planned: int = 0
    cached: int = 0
    in_flight: int = 0
    given_up: int = 0
    written: int = 0
    prompt_chars: int = 0  # of what was written
    output_token_cap: int = 0  # sum of max_completion_tokens of what was written


@dataclass(slots=True)
class PrepareResult:
    stages: dict[str, StageCounts] = field(default_factory=dict)
    shards: list[ShardInfo] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)  # unsubmitted shards rewritten
    dropped: list[str] = field(default_factory=list)  # corrupted cache entries (now pending)

    @property
    def written(self) -> int:
        return sum(c.written for c in self.stages.values())


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def write_stage(
    stage: Stage,
    requests: Iterable[tuple[Any, Request]],
    index: RequestIndex,
    writer: ShardWriter,
    cache: ResponseCache,
    skip: tuple[KeySet, KeySet],
    counts: StageCounts,
    chain: Chain,
) -> None:
    """Classify each request; write the pending ones (in order) to shards.

    A request without a body (its key came from the index) is rendered when written.
    """
    in_flight, given_up = skip
    has_cache = len(cache) > 0
    for chunk in _chunks(requests, CHUNK):
        batch_keys = [r.key for _, r in chunk]
        # a corrupted entry is dropped (and so pending); an empty cache needs no query
        cached = cache.valid_many(batch_keys) if has_cache else set()
        flying = in_flight.contains_many(batch_keys)
        dropped = given_up.contains_many(batch_keys)
        for (spec, req), fly, gone in zip(chunk, flying, dropped, strict=True):
            counts.planned += 1
            if req.key in cached:
                counts.cached += 1
                chain.cached(req.key)
            elif fly:
                counts.in_flight += 1
            elif gone:
                counts.given_up += 1
            else:
                if not req.canonical:
                    req = index.render(stage, spec)
                writer.write(batch_line(req.key, req.canonical))
                counts.written += 1
                counts.prompt_chars += len(req.canonical)
                counts.output_token_cap += req.max_output_tokens


def _next_numbers(state: State) -> dict[str, int]:
    numbers = {stage.name: 1 for stage in STAGES}
    for info in state.manifest:
        parsed = shard_number(info.file)
        if parsed:
            numbers[parsed[0]] = max(numbers.get(parsed[0], 1), parsed[1] + 1)
    return numbers


def _drop_unsubmitted(state: State) -> list[str]:
    stale = state.unsubmitted()
    for info in stale:
        with contextlib.suppress(FileNotFoundError):
            (state.folder / info.file).unlink()
    names = {s.file for s in stale}
    state.manifest = [s for s in state.manifest if s.file not in names]
    return sorted(names)


class _Planner:
    """The requests of each stage for one prepare, from the index and the accepted record."""

    def __init__(
        self, config: Config, index: RequestIndex, cache: ResponseCache, state: State
    ) -> None:
        self.config, self.index, self.cache, self.state = config, index, cache, state
        self.chain = Chain(index.fingerprint, config)
        self.record = accepted.read(config.paths.out)
        self.judged: accepted.Record | None = None  # a record this prepare decided

    def requests(self, stage: Stage) -> Iterator[tuple[Any, Request]]:
        label = f"rendering {stage.name} requests"
        if not stage.inputs:
            length = stage.size(self.config)
            yield from progress.track(self.index.requests(stage), label, length=length)
            return
        real_judged = stage.verdict and bool(self.config.real)  # real records need no cache
        if not stage.enabled(self.config) or (len(self.cache) == 0 and not real_judged):
            return
        if self.record is not None and self.record.valid_for(stage, self.chain):
            for key, spec in self.record.planned.get(stage.name, []):
                self.index.remember(stage, spec, key)
                yield spec, Request(stage.name, key, b"", stage.max_tokens(self.config))
            return
        if self.judged is None or accepted.previous(stage) not in self.judged.fingerprints:
            self.judged = self._judge(stage)
        planned = self.judged.planned[stage.name]
        for i, (_, spec) in enumerate(progress.track(list(planned), label)):
            req = self.index.render(stage, spec)
            planned[i] = (req.key, spec)
            yield spec, req

    def _judge(self, stage: Stage) -> accepted.Record:
        """Judge the stages before ``stage`` again: which samples do they accept now?"""
        failures = self.state.failure_summary(self.config.engine.max_attempts)
        return judge_until(stage, self.index, self.cache, failures, in_flight_keys(self.state))

    def close(self) -> None:
        """Keep the record this prepare decided, so the next one need not judge again."""
        if self.judged is None:
            return
        for name, planned in self.judged.planned.items():
            stage = BY_NAME[name]
            planned[:] = [(key or self.index.key(stage, spec), spec) for key, spec in planned]
        self.judged.write(self.config.paths.out)


def prepare(
    config: Config,
    toolset: ToolSet | None = None,
    *,
    index: RequestIndex | None = None,
    pilot: int | None = None,
) -> PrepareResult:
    """Write shards for every pending request of every stage.

    With ``pilot``, only the pilot's seed requests (pilot.sample_keys) are
    considered: the plan's counts then describe the pilot, not the job.
    """
    toolset = toolset or project_tools(config)
    check_real(config)  # collect reads them; a bad one should stop us before we send
    index = index or RequestIndex(config, toolset)
    only = pilot_mod.sample_keys(config, toolset, pilot, index=index) if pilot else None
    folder = config.paths.batches
    result = PrepareResult()
    with project_lock(folder):
        state = State(folder)
        result.replaced = _drop_unsubmitted(state)
        flying = in_flight_keys(state)
        summary = state.failure_summary(config.engine.max_attempts)
        given_up = KeySet(k for k, (_, _, gave_up) in summary.items() if gave_up)
        numbers = _next_numbers(state)
        with ResponseCache(config.paths.cache) as cache:
            planner = _Planner(config, index, cache, state)
            for stage in STAGES:
                counts = result.stages.setdefault(stage.name, StageCounts())
                writer = ShardWriter(
                    folder,
                    stage.name,
                    stage.model(config),  # one model per shard (the judge: its own)
                    numbers[stage.name],
                    config.limits.max_lines,
                    pacing.max_shard_bytes(
                        config.engine.enqueued_token_limit, config.limits.max_bytes
                    ),
                )
                requests = planner.requests(stage)
                if only is not None:  # a pilot: its seed requests, no paraphrases yet
                    requests = (
                        (spec, r) for spec, r in requests if not stage.inputs and r.key in only
                    )
                try:
                    write_stage(
                        stage,
                        requests,
                        index,
                        writer,
                        cache,
                        (flying, given_up),
                        counts,
                        planner.chain,
                    )
                except BaseException:
                    writer.abort()
                    for info in result.shards + writer.shards:  # not in the manifest yet
                        with contextlib.suppress(FileNotFoundError):
                            (folder / info.file).unlink()
                    raise
                planner.chain.close(stage.name)
                result.shards.extend(writer.close())
            result.dropped = list(cache.dropped)
            planner.close()
        state.manifest.extend(result.shards)
        state.save_manifest()
        index.store()
    return result
