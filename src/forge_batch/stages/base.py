"""What a stage is: the requests it plans, how it renders them, how it reads the answers.

A stage is an object (one module per stage, one entry in ``stages.STAGES``).
Every command drives stages through this interface only, so adding a stage
never touches prepare, build or status:

* ``plan`` yields the specs of a stage with no inputs (the seeds: from the plan);
* ``spec_for`` gives the spec a stage plans from one accepted sample of one of
  its ``inputs`` (a paraphrase from an accepted seed), or None for none;
* ``render`` turns a spec into a keyed request (prompt, token limit);
* ``parse`` turns a cached response into samples (or a failure: check, reason);
* ``to_json``/``from_json`` store a planned spec in the accepted record
  (``accepted.py``), so a later command plans without judging again.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from .. import context, keys
from ..cache import Cached
from ..config import Config
from ..errors import InputError
from ..records import Reject, Sample
from ..spool import Spool
from ..tools import ToolSet

Failure = tuple[str, str]  # (check, reason)


@dataclass(slots=True)  # not frozen: built once per request, a frozen __init__ costs 2x
class Request:
    stage: str
    key: str
    canonical: bytes  # canonical JSON of the body (what the key hashes)
    max_output_tokens: int


@dataclass(slots=True)
class Parsed:
    """What ``Stage.parse`` made of one response."""

    samples: list[Sample]
    meta: dict[str, Any]  # response facts (model, usage, ...) also when it failed
    failure: Failure | None = None


@dataclass(frozen=True, slots=True)
class Lean:
    """A spec planned from an accepted sample, as the build holds it until its stage runs.

    The build plans one spec per accepted sample for each consumer stage (a paraphrase
    request per seed, a judge request per sample the rules passed) and runs them only
    after every earlier stage: holding them whole kept the seed's user text, the
    judge's reference and its sample in memory per planned request (at 100k ~175k
    specs; tests/test_judge_e2e.py). A lean spec is 16 bytes of digest of the spec's
    JSON (``Stage.to_json``; equality and hash go by it) and the offset of that JSON in
    the build's spool (-1 when not spooled: a key of the request index)."""

    digest: bytes
    at: int = field(default=-1, compare=False)


def _lean_digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


class Stage(ABC):
    """One generation stage. Subclasses set ``name`` and ``inputs``."""

    name: str = ""
    inputs: tuple[str, ...] = ()  # stages whose accepted samples this one plans from
    # Synthetic samples (rewrites of a parent) compete for the synthetic_cap share of the
    # dataset (merge.select) instead of being kept outright.
    synthetic: bool = False
    # A verdict stage grades its input sample instead of writing new ones: ``parse``
    # returns that sample (kept) or a failure; no rule check or dedup runs again.
    verdict: bool = False

    @abstractmethod
    def max_tokens(self, config: Config) -> int:
        """The token limit of this stage's requests."""

    def plan(self, config: Config, toolset: ToolSet) -> Iterator[Any]:
        """Specs planned from the configuration alone (stages without inputs)."""
        return iter(())

    def size(self, config: Config) -> int | None:
        """How many requests ``plan`` yields, when known up front (for progress bars)."""
        return None

    def spec_for(self, sample: Sample, config: Config) -> Any | None:
        """The spec planned from one accepted sample of an input stage (None: nothing)."""
        return None

    @abstractmethod
    def render(self, spec: Any, config: Config, toolset: ToolSet) -> Request:
        """The keyed request of one spec (its prompt and token limit)."""

    @abstractmethod
    def parse(
        self,
        spec: Any,
        key: str,
        cached: Cached,
        parent: Sample | None,
        config: Config,
        toolset: ToolSet,
    ) -> Parsed:
        """One cached response -> samples. ``parent``: the input sample (None for seeds)."""

    def scenario(self, spec: Any) -> str:
        """The scenario a reject of this spec is filed under."""
        return str(spec.scenario)

    def reject_id(self, key: str) -> str:
        """Id of a reject for a request that gave no sample."""
        return keys.short(key)

    def enabled(self, config: Config) -> bool:
        """False when the configuration turns this stage off."""
        return True

    def model(self, config: Config) -> str:
        """The model its requests name (one model per shard)."""
        return config.model

    def reject(self, spec: Any, key: str, failure: Failure) -> Reject:
        """The reject of a request whose response gave no sample."""
        return Reject(self.reject_id(key), key, self.name, self.scenario(spec), *failure)

    def given_up(self, spec: Any, key: str, reason: str) -> Reject:
        """The reject of a request given up after its failed attempts (``reason``)."""
        return self.reject(spec, key, ("request_failed", reason))

    def lean(self, spec: Any, spool: Spool | None = None) -> Any:
        """The spec as the build holds it until this stage runs: a ``Lean`` (its JSON's
        digest; with ``spool``, the JSON goes there for ``filled``). The request index keys
        a planned spec by it too, so a full spec and its lean one find the same key."""
        if isinstance(spec, Lean):
            return spec
        data = orjson.dumps(self.to_json(spec))
        at = -1 if spool is None else spool.put_line(data + b"\n")
        return Lean(_lean_digest(data), at)

    def filled(self, spec: Any, spool: Spool) -> Any:
        """A ``lean`` spec made whole again from ``spool``."""
        if not isinstance(spec, Lean):
            return spec
        assert spec.at >= 0, "a lean spec whose JSON was not spooled"
        data = spool.get(spec.at)[:-1]
        assert _lean_digest(data) == spec.digest, "the spool line is not the spec"
        return self.from_json(orjson.loads(data))

    @abstractmethod
    def to_json(self, spec: Any) -> Any:
        """A planned spec as JSON, for the accepted record."""

    @abstractmethod
    def from_json(self, data: Any) -> Any:
        """The inverse of ``to_json``."""

    def request(self, canonical: bytes, config: Config) -> Request:
        """A Request of this stage from canonical body bytes."""
        return Request(self.name, keys.key_of(canonical), canonical, self.max_tokens(config))

    def check_fits(
        self, canonical: bytes, config: Config, what: str | Callable[[], str], hint: str
    ) -> None:
        """Refuse a request over its model's context window (context.py): InputError,
        exit 2, raised while prepare renders, so no shard of the command is kept.
        ``what`` names the request (a callable: worked out only when it does not fit)."""
        limit = context.window(config, self.model(config))
        problem = context.overflow(canonical, self.max_tokens(config), limit)
        if problem:
            named = what() if callable(what) else what
            raise InputError(f"{named}: {problem}", path=config.path, hint=hint)
