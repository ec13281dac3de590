"""The registry of generation stages, in the order they run and take precedence.

Adding a stage: write ``stages/<name>.py`` with a ``Stage`` subclass (see
``base.py``) and add its instance to ``STAGES``. Seeds come from the plan;
paraphrase requests come from the seeds that passed the checks. All stages go
through the same prepare/submit/collect path and cache.
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import plan
from ..config import Config
from ..records import REAL
from ..tools import ToolSet
from .base import Failure, Lean, Parsed, Request, Stage
from .judge import JUDGE, JudgeSpec
from .paraphrase import PARAPHRASE, ParaphraseSpec
from .seed import SEED

STAGES: tuple[Stage, ...] = (SEED, PARAPHRASE, JUDGE)
NAMES: tuple[str, ...] = tuple(s.name for s in STAGES)
BY_NAME: dict[str, Stage] = {s.name: s for s in STAGES}
# where a dataset sample comes from, by precedence (a verdict stage writes no sample)
SOURCES: tuple[str, ...] = (REAL, *(s.name for s in STAGES if not s.verdict))

__all__ = [
    "BY_NAME",
    "JUDGE",
    "NAMES",
    "PARAPHRASE",
    "SEED",
    "SOURCES",
    "STAGES",
    "Failure",
    "JudgeSpec",
    "Lean",
    "ParaphraseSpec",
    "Parsed",
    "Request",
    "Stage",
    "consumers",
    "paraphrase_request",
    "seed_requests",
]


def consumers(name: str) -> tuple[Stage, ...]:
    """The stages that plan from accepted samples of stage ``name``."""
    return tuple(s for s in STAGES if name in s.inputs)


def seed_requests(config: Config, toolset: ToolSet) -> Iterator[tuple[plan.SeedSpec, Request]]:
    """Every planned seed with its request, in plan order."""
    for spec in SEED.plan(config, toolset):
        yield spec, SEED.render(spec, config, toolset)


def paraphrase_request(user_text: str, keep: tuple[str, ...], config: Config) -> Request:
    """The paraphrase request of a seed whose first user turn is ``user_text``."""
    return PARAPHRASE.render_text(user_text, keep, config)
