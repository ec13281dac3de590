"""The seed stage: one conversation per planned (tool, scenario, index)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .. import parse, plan, prompts
from ..cache import Cached
from ..config import Config
from ..records import Sample
from ..tools import ToolSet
from .base import Parsed, Request, Stage


class SeedStage(Stage):
    name = "seed"
    inputs = ()

    def max_tokens(self, config: Config) -> int:
        return config.generation.max_tokens

    def size(self, config: Config) -> int | None:
        return config.seeds

    def plan(self, config: Config, toolset: ToolSet) -> Iterator[plan.SeedSpec]:
        return plan.iter_seeds(config, toolset)

    def render(self, spec: plan.SeedSpec, config: Config, toolset: ToolSet) -> Request:
        canon = prompts.canonical_seed(spec, toolset, config)
        self.check_fits(
            canon,
            config,
            f"tool {spec.tool!r} ({spec.scenario} request)",
            "shorten that tool's description or parameter schema, lower "
            "[generation] max_tokens or catalogue_size, or set [limits] context_window "
            "if the model's window is larger",
        )
        return self.request(canon, config)

    def parse(
        self,
        spec: plan.SeedSpec,
        key: str,
        cached: Cached,
        parent: Sample | None,
        config: Config,
        toolset: ToolSet,
    ) -> Parsed:
        sample, meta, failure = parse.parse_seed(spec, key, cached, toolset, config, self.name)
        if failure is None and sample is None:
            failure = ("parse", "no sample")
        return Parsed([sample] if sample is not None else [], meta, failure)

    def to_json(self, spec: plan.SeedSpec) -> Any:
        return [
            spec.scenario,
            spec.tool,
            spec.index,
            list(spec.targets),
            spec.hint,
            list(spec.shown),
        ]

    def from_json(self, data: Any) -> plan.SeedSpec:
        scenario, tool, index, targets, hint, shown = data
        return plan.SeedSpec(scenario, tool, index, tuple(targets), hint, tuple(shown))


SEED = SeedStage()
