"""The two generation stages as streams of keyed requests.

Seeds come from the plan; paraphrase requests come from the seeds that passed
validation. Both go through the same prepare/submit/collect path and cache:
nothing is special-cased per stage except the prompt and the parser.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from . import context, keys, plan, prompts
from .config import Config
from .errors import InputError
from .tools import ToolSet

STAGES = ("seed", "paraphrase")


@dataclass(slots=True)  # not frozen: built once per request, a frozen __init__ costs 2x
class Request:
    stage: str
    key: str
    canonical: bytes  # canonical JSON of the body (what the key hashes)
    max_output_tokens: int


def seed_requests(config: Config, toolset: ToolSet) -> Iterator[tuple[plan.SeedSpec, Request]]:
    """Every planned seed with its request, in plan order."""
    limit = config.generation.max_tokens
    window = context.window(config)
    for spec in plan.iter_seeds(config, toolset):
        canon = prompts.canonical_seed(spec, toolset, config)
        problem = context.overflow(canon, limit, window)
        if problem:
            raise InputError(
                f"tool {spec.tool!r} ({spec.scenario} request): {problem}",
                path=config.path,
                hint="shorten that tool's description or parameter schema, lower "
                "[generation] max_tokens or catalogue_size, or set [limits] context_window "
                "if the model's window is larger",
            )
        yield spec, Request("seed", keys.key_of(canon), canon, limit)


def paraphrase_request(user_text: str, keep: tuple[str, ...], config: Config) -> Request:
    body = prompts.render_paraphrase(user_text, keep, config.paraphrases_per_seed, config)
    canon = keys.canonical(body)
    return Request("paraphrase", keys.key_of(canon), canon, config.generation.paraphrase_max_tokens)
