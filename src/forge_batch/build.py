"""From cached responses to out/dataset.jsonl, out/rejects.jsonl and the report.

Two passes in precedence order, so "first wins" means real > seed > paraphrase:

1. real files, then every planned seed: parse -> checks -> dedup; accepted
   samples go to a spool file, every drop to rejects with its check;
2. for each accepted seed (read back from the spool), its paraphrase response:
   parse -> checks -> dedup; survivors are candidates for the synthetic share.

Then the merge picks the paraphrases to keep under the cap, and one last pass
over the spool writes the dataset. Memory holds the dedup index and a small
record per paraphrase candidate, never the samples themselves.
The same cache and config give a byte-identical dataset.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import orjson

from . import checks, dedup, merge, parse, plan, progress, reasoning, response
from .cache import Cached, ReadOnlyCache, ResponseCache
from .config import Config
from .errors import InputError, json_line_problem
from .fsio import atomic_writer, disk_full_guard, open_regular, remove_stale_temps
from .keyset import KeySet
from .ledger import Failure, State, in_flight_keys
from .records import Reject, Sample
from .report import Stats, write_report
from .stages import Request, paraphrase_request, seed_requests
from .tools import ToolSet, project_tools

# Responses read from the cache per query, and accepted seeds read back from the spool
# per step. A parsed sample holds its tools' full schemas (~35 KB of objects), so this
# bounds a transient that allocator fragmentation then keeps in the peak RSS: at 100k
# responses, 100 instead of 500 lowers the build's peak by ~20 MB at the same speed.
READ_CHUNK = 100
ARG_CHECKS = frozenset({"json", "tool", "required", "unknown_args", "schema"})


class Builder:
    """Shared machinery of both passes (also used by prepare for the paraphrase stage)."""

    def __init__(
        self,
        config: Config,
        toolset: ToolSet,
        cache: ResponseCache,
        failures: dict[str, tuple[int, Failure, bool]],
        in_flight: KeySet | None = None,
    ) -> None:
        self.config, self.toolset, self.cache, self.failures = config, toolset, cache, failures
        self.in_flight = in_flight or KeySet()
        self.ctx = checks.CheckContext.build(
            grounding=config.checks.grounding, min_text_chars=config.checks.min_text_chars
        )
        d = config.dedup
        self.deduper = dedup.Deduper(
            threshold=d.threshold, shingles=d.shingles, num_perm=d.num_perm
        )
        self.stats = Stats()

    def _usage(self, meta: dict[str, Any]) -> None:
        prompt, completion, cached = response.token_counts(meta.get("usage"))
        self.stats.prompt_tokens += prompt
        self.stats.completion_tokens += completion
        thought = reasoning.reasoning_tokens(meta.get("usage"))
        self.stats.reasoning_tokens += thought
        if meta.get("finish_reason") == "length":
            self.stats.truncated += 1
            if completion and thought >= 0.8 * completion:
                self.stats.truncated_by_reasoning += 1
        if cached is not None:
            self.stats.cached_tokens = (self.stats.cached_tokens or 0) + cached

    def missing(
        self, stage: str, req: Request, source: str, scenario: str, sample_id: str
    ) -> Reject | None:
        """A request with no cached response: pending, or given up (a reject)."""
        st = self.stats.stages[stage]
        info = self.failures.get(req.key)
        if info and info[2]:
            st.given_up += 1
            attempts, last, _ = info
            st.failed_reasons[last.reason] = st.failed_reasons.get(last.reason, 0) + 1
            return Reject(
                sample_id,
                req.key,
                source,
                scenario,
                "request_failed",
                f"{last.reason} after {attempts} attempt(s): {last.message}"[:500],
            )
        st.pending += 1
        st.in_flight += req.key in self.in_flight
        st.retrying += info is not None
        return None

    def judge(self, sample: Sample) -> Reject | None:
        """Checks, then dedup; None means the sample is accepted (and indexed)."""
        failure = checks.check_sample(sample, self.ctx)
        has_calls = any(m.get("tool_calls") for m in sample.messages)
        if has_calls and (failure is None or failure[0] in ARG_CHECKS):
            self.stats.arg_checked += 1
            self.stats.arg_passed += failure is None or failure[0] not in ARG_CHECKS
        if failure:
            return Reject(
                sample.id,
                sample.meta.get("request_key"),
                sample.source,
                sample.scenario,
                failure[0],
                failure[1],
                sample.to_json(),
            )
        self.stats.dup_candidates += 1
        first = self.deduper.check_and_add(sample.id, "\n".join(sample.user_texts()))
        if first is not None:
            self.stats.duplicates += 1
            return Reject(
                sample.id,
                sample.meta.get("request_key"),
                sample.source,
                sample.scenario,
                "duplicate",
                f"duplicate of {first}",
                sample.to_json(),
            )
        return None

    def seeds(self) -> Iterator[tuple[Sample | None, Reject | None]]:
        """Every planned seed: (accepted sample, None), (None, reject) or (None, None) pending."""
        st = self.stats.stages["seed"]
        for spec, req, cached in self._with_responses(seed_requests(self.config, self.toolset)):
            st.planned += 1
            if cached is None:
                yield None, self.missing("seed", req, "seed", spec.scenario, req.key[4:20])
                continue
            st.cached += 1
            sample, meta, failure = parse.parse_seed(
                spec, req.key, cached, self.toolset, self.config
            )
            self._usage(meta)
            if failure or sample is None:
                check, reason = failure or ("parse", "no sample")
                yield None, Reject(req.key[4:20], req.key, "seed", spec.scenario, check, reason)
                continue
            st.parsed += 1
            st.samples += 1
            yield (sample, None) if (rej := self.judge(sample)) is None else (None, rej)

    def _with_responses(
        self, items: Iterator[tuple[plan.SeedSpec, Request]]
    ) -> Iterator[tuple[plan.SeedSpec, Request, Cached | None]]:
        """Attach each request's cached response, read in chunks (one query per chunk)."""
        while chunk := list(islice(items, READ_CHUNK)):
            found = self.cache.get_many([req.key for _, req in chunk])
            for spec, req in chunk:
                yield spec, req, found.get(req.key)

    def paraphrases(
        self, seeds: list[Sample]
    ) -> Iterator[tuple[Sample, list[Sample], list[Reject]]]:
        """For each accepted seed: its paraphrase samples that passed, and the rejects.

        The responses of the whole batch are read from the cache in one query.
        """
        if self.config.paraphrases_per_seed <= 0:
            return
        requests = [self._paraphrase_request(seed) for seed in seeds]
        found = self.cache.get_many([req.key for req in requests])
        for seed, req in zip(seeds, requests, strict=True):
            yield seed, *self._paraphrased(seed, req, found.get(req.key))

    def _paraphrase_request(self, seed: Sample) -> Request:
        users = seed.user_texts()
        return paraphrase_request(
            users[0] if users else "", parse.argument_values(seed), self.config
        )

    def _paraphrased(
        self, seed: Sample, req: Request, cached: Cached | None
    ) -> tuple[list[Sample], list[Reject]]:
        st = self.stats.stages["paraphrase"]
        st.planned += 1
        if cached is None:
            rej = self.missing("paraphrase", req, "paraphrase", seed.scenario, req.key[4:20] + "-p")
            return [], [rej] if rej else []
        st.cached += 1
        samples, meta, failure = parse.parse_paraphrases(seed, req.key, cached)
        self._usage(meta)
        if failure:
            reason = Reject(req.key[4:20] + "-p", req.key, "paraphrase", seed.scenario, *failure)
            return [], [reason]
        st.parsed += 1
        st.samples += len(samples)
        kept, rejects = [], []
        for sample in samples:
            rej = self.judge(sample)
            if rej is None:
                kept.append(sample)
            else:
                rejects.append(rej)
        return kept, rejects


def paraphrase_requests(
    config: Config, toolset: ToolSet, cache: ResponseCache
) -> Iterator[Request]:
    """The paraphrase stage for prepare: one request per accepted seed."""
    if config.paraphrases_per_seed <= 0 or len(cache) == 0:
        return
    state = State(config.paths.batches)
    builder = Builder(config, toolset, cache, state.failure_summary(config.engine.max_attempts))
    for sample, _ in builder.seeds():
        if sample is not None:
            yield builder._paraphrase_request(sample)


class _Spool:
    """Accepted samples on disk, addressed by offset, so memory stays flat.

    One handle appends, another reads: no seek per write, and the writer is
    flushed only when a read reaches data it still buffers.
    """

    def __init__(self, path: Path) -> None:
        self._writer = open(path, "wb")  # noqa: SIM115 - closed in close()
        self._reader = open(path, "rb")  # noqa: SIM115 - closed in close()
        self._end = self._flushed = 0

    def put(self, sample: Sample) -> int:
        data = orjson.dumps(sample.to_json()) + b"\n"
        offset = self._end
        self._writer.write(data)
        self._end += len(data)
        return offset

    def get(self, offset: int) -> bytes:
        if offset >= self._flushed:
            self._writer.flush()
            self._flushed = self._end
        self._reader.seek(offset)
        return self._reader.readline()

    def close(self) -> None:
        self._writer.close()
        self._reader.close()


@contextlib.contextmanager
def _spool(folder: Path | None) -> Iterator[_Spool]:
    """A scratch file for accepted samples: in ``folder``, or a temp dir when None.

    It wraps the whole build, so a full disk met anywhere in it (the spool's
    own buffered writes included) is a DiskFullError, not a traceback.
    """
    if folder is None:
        with (
            disk_full_guard(tempfile.gettempdir()),
            tempfile.TemporaryDirectory(prefix="forge-batch-") as tmp,
        ):
            spool = _Spool(Path(tmp) / "spool.jsonl")
            try:
                yield spool
            finally:
                spool.close()
        return
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f".spool-{os.getpid()}.jsonl"
    spool = None
    try:
        with disk_full_guard(folder):
            spool = _Spool(path)
            yield spool
    finally:
        if spool is not None:
            with contextlib.suppress(OSError):
                spool.close()
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _real_scenario(messages: list[dict[str, Any]]) -> str:
    calls = [m for m in messages if m.get("tool_calls")]
    if not calls:
        return "no_tool"
    return "parallel" if any(len(m["tool_calls"]) > 1 for m in calls) else "standard"


def _real_problem(data: Any) -> tuple[str, str] | None:
    """(place, problem) of a real record whose shape the checks cannot judge."""
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
        return "", "expected an object with a 'messages' list"
    for i, m in enumerate(data["messages"]):
        if not isinstance(m, dict):
            return f"messages[{i}]", f"a message must be an object, got {type(m).__name__}"
        if not isinstance(m.get("content"), str | None):
            return f"messages[{i}].content", "must be a string or null (content parts unsupported)"
        calls = m.get("tool_calls")
        if calls is not None and not (
            isinstance(calls, list) and all(isinstance(c, dict) for c in calls)
        ):
            return f"messages[{i}].tool_calls", "must be a list of objects"
    if data.get("meta") is not None and not isinstance(data["meta"], dict):
        return "meta", f"must be an object, got {type(data['meta']).__name__}"
    tools = data.get("tools")
    if tools is not None and not (
        isinstance(tools, list) and all(isinstance(t, dict) for t in tools)
    ):
        return "tools", "must be a list of objects (OpenAI tools)"
    tool = (data.get("meta") or {}).get("tool")  # the report counts by it
    if tool is not None and not isinstance(tool, str):
        return "meta.tool", f"must be a string, got {type(tool).__name__}"
    return None


def real_samples(paths: tuple[Path, ...]) -> Iterator[Sample]:
    """Curated conversations (dataset records or OpenAI fine-tuning lines)."""
    for path in paths:
        with open_regular(path, "real data file", InputError) as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    data = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    raise InputError(
                        json_line_problem(line, exc), path=path, where=f"line {n}"
                    ) from None
                problem = _real_problem(data)
                if problem is not None:
                    place = f"line {n}" + (f" {problem[0]}" if problem[0] else "")
                    raise InputError(problem[1], path=path, where=place)
                messages = data["messages"]
                digest = hashlib.sha256(orjson.dumps(messages, option=orjson.OPT_SORT_KEYS))
                meta = {
                    "request_key": None,
                    "parent": None,
                    "file": path.name,
                    "line": n,
                    **(data.get("meta") or {}),
                }
                yield Sample(
                    str(data.get("id") or "real-" + digest.hexdigest()[:16]),
                    "real",
                    str(data.get("scenario") or _real_scenario(messages)),
                    messages,
                    list(data.get("tools") or []),
                    meta,
                )


def check_real(config: Config) -> None:
    """Read every ``real`` file through, so a bad one fails before anything is written."""
    for i, path in enumerate(config.real):
        try:
            for _ in real_samples((path,)):
                pass
        except InputError as exc:
            exc.hint = exc.hint or f"listed as real[{i}] in {config.path.name}"
            raise


@dataclass(slots=True)
class BuildResult:
    stats: Stats
    dataset: Path
    rejects: Path
    report: list[Path] = field(default_factory=list)
    kept: dict[str, int] = field(default_factory=dict)  # by source
    dropped_cache_entries: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.kept.values())


class _Assembly:
    """One build's working state: what is kept (by spool offset) and what is not.

    The passes run in precedence order (real, seeds, paraphrases), so dedup's
    "first wins" means real > seed > paraphrase. Everything large lives here
    and is freed with it, before the report is drawn.
    """

    def __init__(self, builder: Builder, spool: _Spool, rejects: Any) -> None:
        self.b, self.spool, self._rejects = builder, spool, rejects
        self.stats = builder.stats
        self.keep: list[tuple[str, int, str]] = []  # (id, offset, source), sorted at the end
        self.base: dict[str, int] = {}  # non-synthetic kept samples per scenario
        self.seeds: list[int] = []  # offsets of accepted seeds
        self.candidates: list[merge.Candidate] = []
        self.offsets: dict[str, int] = {}  # paraphrase candidate id -> offset

    def reject(self, rej: Reject) -> None:
        self.stats.rejects[rej.check] = self.stats.rejects.get(rej.check, 0) + 1
        if rej.source in self.stats.stages:
            self.stats.stages[rej.source].rejected += 1
        self._rejects.write(orjson.dumps(rej.to_json()) + b"\n")

    def _accept(self, sample: Sample) -> int:
        offset = self.spool.put(sample)
        self.keep.append((sample.id, offset, sample.source))
        self.base[sample.scenario] = self.base.get(sample.scenario, 0) + 1
        return offset

    def real(self, paths: tuple[Path, ...]) -> None:
        for sample in real_samples(paths):
            rej = self.b.judge(sample)
            if rej is None:
                self._accept(sample)
            else:
                self.reject(rej)

    def seed_pass(self, planned: int) -> None:
        for sample, rej in progress.track(self.b.seeds(), "checking seeds", length=planned):
            if rej is not None:
                self.reject(rej)
            elif sample is not None:
                self.seeds.append(self._accept(sample))

    def paraphrase_pass(self) -> None:
        spool, seeds = self.spool, self.seeds
        batches = (
            [Sample.from_json(orjson.loads(spool.get(o))) for o in seeds[i : i + READ_CHUNK]]
            for i in range(0, len(seeds), READ_CHUNK)
        )
        outcomes = (item for batch in batches for item in self.b.paraphrases(batch))
        for seed, kept, rejects in progress.track(outcomes, "checking paraphrases", len(seeds)):
            for rej in rejects:
                self.reject(rej)
            texts = [(p.id, p.scenario, "\n".join(p.user_texts())) for p in kept]
            self.candidates.extend(merge.candidates(seed.id, "\n".join(seed.user_texts()), texts))
            for sample in kept:
                self.offsets[sample.id] = spool.put(sample)

    def select(self, cap: float) -> None:
        """Keep the paraphrases the cap allows (by diversity); reject the others."""
        chosen = set(merge.select(self.candidates, self.base, cap))
        for cand in self.candidates:
            offset = self.offsets[cand.id]
            if cand.id in chosen:
                self.keep.append((cand.id, offset, "paraphrase"))
                continue
            data = orjson.loads(self.spool.get(offset))
            reason = f"over the synthetic cap of {cap:g}"
            self.reject(
                Reject(
                    cand.id,
                    data["meta"].get("request_key"),
                    "paraphrase",
                    cand.scenario,
                    "synthetic_cap",
                    reason,
                    data,
                )
            )

    def write(self, fh: Any, result: BuildResult) -> None:
        """The dataset in id order (mixes scenarios and sources for trainers)."""
        self.keep.sort()
        stats = self.stats
        for _, offset, source in self.keep:
            line = self.spool.get(offset)
            fh.write(line)
            result.kept[source] = result.kept.get(source, 0) + 1
            data = orjson.loads(line)
            slot = (data["scenario"], (data.get("meta") or {}).get("tool"), source)
            stats.kept[slot] = stats.kept.get(slot, 0) + 1
            if source != "real":
                stats.stages[source].accepted += 1


def build(config: Config, toolset: ToolSet | None = None, *, write: bool = True) -> BuildResult:
    """Rebuild out/dataset.jsonl, out/rejects.jsonl and the report from the cache.

    With ``write=False`` nothing is written (status uses it for its counts).
    """
    check_real(config)
    toolset = toolset or project_tools(config)
    out = config.paths.out
    if write:
        remove_stale_temps(out)  # a killed build's spool and half-written files
    state = State(config.paths.batches)
    failures = state.failure_summary(config.engine.max_attempts)
    result = BuildResult(Stats(), out / "dataset.jsonl", out / "rejects.jsonl")
    with (
        ResponseCache(config.paths.cache) if write else ReadOnlyCache(config.paths.cache) as cache,
        _spool(out if write else None) as spool,
        atomic_writer(result.rejects) if write else open(os.devnull, "wb") as rej_fh,
    ):
        builder = Builder(config, toolset, cache, failures, in_flight_keys(state, sent_only=True))
        result.stats = builder.stats
        run = _Assembly(builder, spool, rej_fh)
        run.real(config.real)
        run.seed_pass(config.seeds)
        run.paraphrase_pass()
        run.select(config.synthetic_cap)
        with atomic_writer(result.dataset) if write else open(os.devnull, "wb") as fh:
            run.write(fh, result)
        result.dropped_cache_entries = list(cache.dropped)
        del run, builder  # the dedup index and selection go before the chart is drawn
    if write:
        result.report = write_report(out, result.stats, config)
    return result
