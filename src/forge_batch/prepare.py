"""prepare: render every planned request, write the ones not yet paid for into shards.

A request is skipped when its key is in the cache (paid for; an entry whose
checksum fails is dropped and counts as pending), in a shard that
was submitted and not yet collected (in flight), or given up after its failed
attempts; everything else is pending and goes into ``<stage>-NNNN.jsonl``.
Shards written earlier but never submitted are rewritten from scratch, so the
same pending set always gives byte-identical shards.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from . import build, pacing, progress
from . import pilot as pilot_mod
from .cache import ResponseCache
from .config import Config
from .keyset import KeySet
from .ledger import State, in_flight_keys, project_lock
from .shards import ShardInfo, ShardWriter, shard_number
from .stages import STAGES, Request, seed_requests
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


def _chunks(items: Iterable[Request], size: int) -> Iterator[list[Request]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def write_stage(
    requests: Iterable[Request],
    writer: ShardWriter,
    cache: ResponseCache,
    in_flight: KeySet,
    given_up: KeySet,
    counts: StageCounts,
) -> None:
    """Classify each request; write the pending ones (in order) to shards."""
    from .shards import batch_line

    has_cache = len(cache) > 0
    for chunk in _chunks(requests, CHUNK):
        batch_keys = [r.key for r in chunk]
        # a corrupted entry is dropped (and so pending); an empty cache needs no query
        cached = cache.valid_many(batch_keys) if has_cache else set()
        flying = in_flight.contains_many(batch_keys)
        dropped = given_up.contains_many(batch_keys)
        for req, fly, gone in zip(chunk, flying, dropped, strict=True):
            counts.planned += 1
            if req.key in cached:
                counts.cached += 1
            elif fly:
                counts.in_flight += 1
            elif gone:
                counts.given_up += 1
            else:
                writer.write(batch_line(req.key, req.canonical))
                counts.written += 1
                counts.prompt_chars += len(req.canonical)
                counts.output_token_cap += req.max_output_tokens


def _next_numbers(state: State) -> dict[str, int]:
    numbers = {stage: 1 for stage in STAGES}
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


def stage_requests(
    stage: str, config: Config, toolset: ToolSet, cache: ResponseCache
) -> Iterator[Request]:
    if stage == "seed":
        reqs: Iterable[Request] = (r for _, r in seed_requests(config, toolset))
        yield from progress.track(reqs, "rendering seed requests", length=config.seeds)
    else:
        yield from progress.track(
            build.paraphrase_requests(config, toolset, cache), "rendering paraphrase requests"
        )


def prepare(
    config: Config, toolset: ToolSet | None = None, *, pilot: int | None = None
) -> PrepareResult:
    """Write shards for every pending request of every stage.

    With ``pilot``, only the pilot's seed requests (pilot.sample_keys) are
    considered: the plan's counts then describe the pilot, not the job.
    """
    toolset = toolset or project_tools(config)
    build.check_real(config)  # collect reads them; a bad one should stop us before we send
    only = pilot_mod.sample_keys(config, toolset, pilot) if pilot else None
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
            for stage in STAGES:
                counts = result.stages.setdefault(stage, StageCounts())
                writer = ShardWriter(
                    folder,
                    stage,
                    config.model,
                    numbers[stage],
                    config.limits.max_lines,
                    pacing.max_shard_bytes(
                        config.engine.enqueued_token_limit, config.limits.max_bytes
                    ),
                )
                requests = stage_requests(stage, config, toolset, cache)
                if only is not None:  # a pilot: its seed requests, no paraphrases yet
                    requests = (r for r in requests if stage == "seed" and r.key in only)
                try:
                    write_stage(
                        requests,
                        writer,
                        cache,
                        flying,
                        given_up,
                        counts,
                    )
                except BaseException:
                    writer.abort()
                    for info in result.shards + writer.shards:  # not in the manifest yet
                        with contextlib.suppress(FileNotFoundError):
                            (folder / info.file).unlink()
                    raise
                result.shards.extend(writer.close())
            result.dropped = list(cache.dropped)
        state.manifest.extend(result.shards)
        state.save_manifest()
    return result
