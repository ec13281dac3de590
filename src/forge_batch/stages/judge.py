"""The judge stage: one request per sample the rules passed (or doubted), a verdict each.

The second verification layer (ToolACE; DESIGN.md "Two verification layers").
What is judged: with ``[judge] scope = "all"`` every sample that passed the
rule checks and dedup (seeds, paraphrases, real records); with ``"doubtful"``
only those the rules doubted (``checks.assess``), the others are kept
unjudged. Dedup runs first, so no duplicate is paid for. Its inputs are the
seed and paraphrase stages (and the real records, planned by
``judging.Passes``); it runs last and writes no new sample: ``parse`` returns
the graded sample itself, with ``meta.judge``, or a failure.

Paraphrases do not wait for their seed's verdict: they are planned from every
seed the rules accepted, as before the judge existed, and judged with the seed
shown beside them (intent and values kept?). Waiting would save the paraphrase
and judge requests of seeds the judge rejects, but it makes the paraphrase plan
depend on verdicts, which the accepted record's fingerprint chain (seed ->
paraphrase -> judge) cannot see, and it costs a round. For the same reason every
paraphrase that passed the rules is judged, also those the synthetic cap then
drops: what is sent never depends on the cap's pick or the threshold, so
changing the threshold (applied at build time) sends nothing, and changing the
judge model sends judge requests only.

Outcomes: kept (complete verdict, score >= threshold, no hard failure), a
``judge`` reject with the judge's reason, a ``judge_failed`` reject (request
given up, or an unusable verdict: never kept unjudged), or pending (no answer
yet: the sample is neither kept nor rejected).
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from .. import b85, keys, verdict
from ..cache import Cached
from ..config import Config
from ..judge_prompt import Reference, calls_of, render_judge
from ..parse import content_of
from ..records import Reject, Sample
from ..tools import ToolSet
from .base import Failure, Parsed, Request, Stage

NAME = "judge"
CHECKS = (verdict.JUDGE, verdict.JUDGE_FAILED)


@dataclass(frozen=True, slots=True)
class JudgeSpec:
    """One sample to judge (as its JSON, so the spec is hashable) and what the judge
    is shown besides it."""

    # the sample's JSON (sorted keys, without meta.judge), zlib-compressed in base85.
    # Equality and hash go by ``digest`` (of ``sample``): cheaper than the text. The build
    # holds planned specs lean (``Stage.lean``) until this stage runs.
    sample: str = field(compare=False)
    scenario: str
    doubts: tuple[str, ...] = ()
    reference: Reference | None = None  # a paraphrase's seed
    labelled: bool = True  # False: a real record without a scenario label
    digest: bytes = b""

    def __post_init__(self) -> None:
        if not self.digest:
            object.__setattr__(self, "digest", _digest(self.sample))

    def decoded(self) -> Sample:
        return Sample.from_json(orjson.loads(zlib.decompress(b85.decode(self.sample))))


def _digest(packed: str) -> bytes:
    return hashlib.sha256(packed.encode("ascii")).digest()


def _pack(data: dict[str, Any]) -> str:
    """The spec's form of a sample's JSON: without meta.judge, sorted keys, zlib, base85."""
    data["meta"] = {k: v for k, v in data["meta"].items() if k != "judge"}
    packed = zlib.compress(orjson.dumps(data, option=orjson.OPT_SORT_KEYS), 6)
    return b85.encode(packed).decode("ascii")


def wanted(config: Config, doubts: Sequence[str]) -> bool:
    """Whether a sample that passed the rules (with these doubts) gets a judge request."""
    return config.judge.enabled and (config.judge.scope == "all" or bool(doubts))


def reference_of(seed: Sample) -> Reference:
    users = seed.user_texts()
    return Reference(users[0] if users else "", tuple(calls_of(seed.messages)))


def spec_of(
    sample: Sample, doubts: Sequence[str] = (), seed: Sample | None = None, labelled: bool = True
) -> JudgeSpec:
    return JudgeSpec(
        _pack(sample.to_json()),
        sample.scenario,
        tuple(doubts),
        reference_of(seed) if seed is not None else None,
        labelled,
    )


def _tools(sample: Sample, toolset: ToolSet) -> list[dict[str, Any]]:
    """The tools the sample had; for a real record without ``tools``, the called ones."""
    if sample.tools:
        return sample.tools
    called = dict.fromkeys(name for name, _ in calls_of(sample.messages))
    return [toolset.by_name[n].openai() for n in called if n in toolset.by_name]


def annotate(sample: Sample, found: verdict.Verdict, key: str) -> Sample:
    """The kept sample with its verdict in ``meta.judge`` (provenance, checklist item 12)."""
    meta = {**sample.meta, "judge": {"score": found.score, "request_key": key}}
    return Sample(sample.id, sample.source, sample.scenario, sample.messages, sample.tools, meta)


class JudgeStage(Stage):
    name = NAME
    inputs = ("seed", "paraphrase")  # and the real records (judging.Passes plans those)
    verdict = True

    def max_tokens(self, config: Config) -> int:
        return config.judge.max_tokens

    def enabled(self, config: Config) -> bool:
        return config.judge.enabled

    def model(self, config: Config) -> str:
        return config.judge.model

    def spec_for(self, sample: Sample, config: Config) -> JudgeSpec | None:
        return spec_of(sample) if wanted(config, ()) else None

    def render(self, spec: JudgeSpec, config: Config, toolset: ToolSet) -> Request:
        sample = spec.decoded()
        body = render_judge(
            sample.messages,
            _tools(sample, toolset),
            config,
            scenario=sample.scenario if spec.labelled else None,
            reference=spec.reference,
            doubts=spec.doubts,
        )
        req = self.request(keys.canonical(body), config)

        def what() -> str:
            called = ", ".join(sorted({n for n, _ in calls_of(sample.messages)})) or "no call"
            return f"judge request of sample {sample.id!r} ({sample.scenario}; calls {called})"

        self.check_fits(
            req.canonical,
            config,
            what,
            "lower [judge] max_tokens or [generation] catalogue_size, use a judge model "
            "with a larger window, or set [limits] context_window if its window is larger",
        )
        return req

    def parse(
        self,
        spec: JudgeSpec,
        key: str,
        cached: Cached,
        parent: Sample | None,
        config: Config,
        toolset: ToolSet,
    ) -> Parsed:
        """The graded sample kept (``meta.judge``), or ("judge" | "judge_failed", reason).

        ``meta["verdict"]`` carries (score, failure kinds) of a complete verdict. ``parent``
        is the graded sample as the build spooled it (the same messages as the spec's): the
        build passes it, so the spec's compressed copy is not decoded again."""
        _, meta, _ = content_of(cached)
        sample = parent if parent is not None else spec.decoded()
        expected = verdict.Expected.of(sample.messages, spec.reference is not None)
        found, problem = verdict.from_response(cached, expected)
        if found is None:
            return Parsed([], meta, (verdict.JUDGE_FAILED, f"unusable verdict: {problem}"[:500]))
        threshold = config.judge.threshold
        decided = verdict.decide(found, threshold)
        kinds = verdict.kinds_of(found, threshold) if decided else []
        meta = {**meta, "verdict": (found.score, kinds, found.reason)}
        if decided is not None:
            return Parsed([], meta, decided)
        return Parsed([annotate(sample, found, key)], meta)

    def scenario(self, spec: JudgeSpec) -> str:
        return spec.scenario

    def reject(self, spec: JudgeSpec, key: str, failure: Failure) -> Reject:
        """Filed under the graded sample (its id, source and request key), with it."""
        s = spec.decoded()
        return Reject(s.id, s.meta.get("request_key"), s.source, s.scenario, *failure, s.to_json())

    def given_up(self, spec: JudgeSpec, key: str, reason: str) -> Reject:
        return self.reject(spec, key, (verdict.JUDGE_FAILED, f"judge request {reason}"[:500]))

    def to_json(self, spec: JudgeSpec) -> Any:
        ref = spec.reference
        return [
            spec.sample,
            spec.scenario,
            list(spec.doubts),
            None if ref is None else [ref.user, [list(c) for c in ref.calls]],
            spec.labelled,
        ]

    def from_json(self, data: Any) -> JudgeSpec:
        sample, scenario, doubts, ref, labelled = data
        reference = None if ref is None else Reference(ref[0], tuple(tuple(c) for c in ref[1]))
        return JudgeSpec(sample, scenario, tuple(doubts), reference, labelled)


JUDGE = JudgeStage()
