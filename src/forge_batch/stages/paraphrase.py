"""The paraphrase stage: rewrites of an accepted seed's first user turn.

Its spec is what the prompt needs from the seed (its first user text and the
argument values a rewrite must keep) plus the seed's key and id, which the
build uses to find the seed sample again; nothing else of the seed is held.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import keys, parse, prompts
from ..cache import Cached
from ..config import Config
from ..records import Sample
from ..tools import ToolSet
from .base import Parsed, Request, Stage
from .seed import SEED


@dataclass(frozen=True, slots=True)
class ParaphraseSpec:
    parent: str  # id of the seed sample
    scenario: str
    user_text: str
    keep: tuple[str, ...]  # argument values the rewrites must keep


class ParaphraseStage(Stage):
    name = "paraphrase"
    inputs = (SEED.name,)
    synthetic = True

    def max_tokens(self, config: Config) -> int:
        return config.generation.paraphrase_max_tokens

    def enabled(self, config: Config) -> bool:
        return config.paraphrases_per_seed > 0

    def spec_for(self, sample: Sample, config: Config) -> ParaphraseSpec | None:
        users = sample.user_texts()
        keep = parse.argument_values(sample)
        return ParaphraseSpec(sample.id, sample.scenario, users[0] if users else "", keep)

    def render(self, spec: ParaphraseSpec, config: Config, toolset: ToolSet) -> Request:
        req = self.render_text(spec.user_text, spec.keep, config)
        self.check_fits(
            req.canonical,
            config,
            f"paraphrase request of seed sample {spec.parent!r} ({spec.scenario})",
            "lower [generation] paraphrase_max_tokens (or max_tokens, which bounds the "
            "seed's text), or set [limits] context_window if the model's window is larger",
        )
        return req

    def render_text(self, user_text: str, keep: tuple[str, ...], config: Config) -> Request:
        body = prompts.render_paraphrase(user_text, keep, config.paraphrases_per_seed, config)
        return self.request(keys.canonical(body), config)

    def parse(
        self,
        spec: ParaphraseSpec,
        key: str,
        cached: Cached,
        parent: Sample | None,
        config: Config,
        toolset: ToolSet,
    ) -> Parsed:
        assert parent is not None, "a paraphrase is parsed against its seed"
        samples, meta, failure = parse.parse_paraphrases(parent, key, cached, self.name)
        return Parsed(samples, meta, failure)

    def reject_id(self, key: str) -> str:
        return keys.short(key) + "-p"

    def to_json(self, spec: ParaphraseSpec) -> Any:
        return [spec.parent, spec.scenario, spec.user_text, list(spec.keep)]

    def from_json(self, data: Any) -> ParaphraseSpec:
        parent, scenario, user_text, keep = data
        return ParaphraseSpec(parent, scenario, user_text, tuple(keep))


PARAPHRASE = ParaphraseStage()
