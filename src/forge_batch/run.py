"""run: prepare -> submit --wait -> collect, both stages, until nothing is left to send.

Each round sends whatever is pending: first the seeds, then paraphrases of the
seeds that passed, then any request whose earlier attempt failed (up to
``max_attempts``). A round that finds nothing to write, submit or collect ends
the loop, so a second ``run`` with nothing changed sends nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import build, pilot, progress
from .collect import CollectResult, collect_batches, import_file
from .config import Config
from .engine import api_key, open_engine
from .index import RequestIndex
from .ledger import State, project_lock
from .prepare import PrepareResult, prepare
from .real import check_real
from .submit import SubmitResult, submit, wait
from .tools import project_tools

MAX_ROUNDS = 50


@dataclass(slots=True)
class Round:
    prepared: PrepareResult
    submitted: SubmitResult
    collected: CollectResult


@dataclass(slots=True)
class RunResult:
    rounds: list[Round] = field(default_factory=list)
    built: build.BuildResult | None = None
    finished: bool = False  # False when MAX_ROUNDS stopped it

    @property
    def sent(self) -> int:
        return sum(r.prepared.written for r in self.rounds)


def collect(
    config: Config,
    *,
    import_path: Path | None = None,
) -> tuple[CollectResult, build.BuildResult]:
    """Ingest finished batches (and an imported file), then rebuild the dataset.

    With the local engine, batches only progress while its server runs, so
    collect waits for the ones in flight instead of leaving them behind.
    """
    toolset = project_tools(config)  # bad inputs fail before anything is touched
    check_real(config)
    api_key(config)  # a missing key must stop an import before it writes the cache
    if import_path is not None:
        imported = import_file(config, import_path)
    with open_engine(config) as engine:
        if config.engine.kind == "local":
            with project_lock(config.paths.batches):
                wait(State(config.paths.batches), engine, config.engine.poll_interval)
        result = collect_batches(config, engine)
    if import_path is not None:
        result.imported = imported
    return result, build.build(config, toolset)


def run_pilot(config: Config, size: int, *, poll_interval: float | None = None) -> tuple[str, Path]:
    """Send the pilot sample (one round: prepare, submit and wait, collect), then
    report on it (printed and written to out/pilot.md) and stop."""
    toolset = project_tools(config)
    check_real(config)
    index = RequestIndex(config, toolset)
    beat = progress.Heartbeat()
    with open_engine(config) as engine:
        prepared = prepare(config, toolset, index=index, pilot=size)
        beat.phase(f"pilot: prepare wrote {prepared.written:,} request(s)")
        submit(config, engine, wait_for=True, poll_interval=poll_interval, beat=beat)
        collect_batches(config, engine)
    keys = pilot.sample_keys(config, toolset, size, index=index)
    text = pilot.render(pilot.evaluate(config, toolset, keys, index=index), config)
    return text, pilot.write(text, config)


def run(
    config: Config, *, poll_interval: float | None = None, max_rounds: int = MAX_ROUNDS
) -> RunResult:
    toolset = project_tools(config)
    check_real(config)
    index = RequestIndex(config, toolset)  # every round and the build share it
    result = RunResult()
    beat = progress.Heartbeat()
    with open_engine(config) as engine:
        for n in range(1, max_rounds + 1):
            prepared = prepare(config, toolset, index=index)
            if prepared.written:
                beat.phase(
                    f"round {n}: prepare wrote {prepared.written:,} request(s) in "
                    f"{len(prepared.shards)} shard(s)"
                )
            submitted = submit(
                config, engine, wait_for=True, poll_interval=poll_interval, beat=beat
            )
            collected = collect_batches(config, engine)
            if collected.batches:
                beat.phase(
                    f"round {n}: collected {len(collected.batches)} batch(es): "
                    f"{sum(b.cached for b in collected.batches):,} answered, "
                    f"{sum(b.failed for b in collected.batches):,} failed"
                )
            result.rounds.append(Round(prepared, submitted, collected))
            if not (
                prepared.written
                or submitted.submitted
                or submitted.resumed
                or collected.batches
                or collected.waiting
            ):
                result.finished = True
                break
    beat.phase("building the dataset")
    result.built = build.build(config, toolset, index=index)
    beat.phase(f"done: {result.built.total:,} samples")
    return result
