"""forge.toml -> frozen dataclasses, validated on load.

Every key is known here; an unknown key or a bad value is a ConfigError that
names the file and the key (with a did-you-mean), so a typo never silently
falls back to a default. Paths are relative to the folder of forge.toml.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import reasoning
from .config_reader import Reader, inside, read_toml, user_path
from .errors import ConfigError

SCENARIOS: tuple[str, ...] = (
    "standard",
    "no_tool",
    "parallel",
    "error",
    "ambiguous",
    "edge",
    "multi_turn",
)
DEFAULT_WEIGHTS: dict[str, float] = {
    "standard": 0.55,
    "no_tool": 0.15,
    "parallel": 0.10,
    "error": 0.10,
    "ambiguous": 0.05,
    "edge": 0.05,
    "multi_turn": 0.0,
}
LOCAL_MODEL = "SmolLM2-135M-Instruct"
# OpenAI's limits on one Batch input file: the defaults and the ceiling of [limits].
MAX_SHARD_LINES = 50_000
MAX_SHARD_BYTES = 200 * 1000 * 1000
ENGINE_KINDS = ("local", "openai")
SHINGLES = ("word1", "word2", "word3", "char3", "char4", "char5")
JUDGE_SCOPES = ("all", "doubtful")


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens at list price; the batch discount applies on top."""

    input: float
    output: float


# Batch API list prices per 1M tokens (input, output); override in [prices].
DEFAULT_PRICES: dict[str, Price] = {
    "gpt-4o-mini": Price(0.15, 0.60),
    "gpt-4o": Price(2.50, 10.00),
    "gpt-4.1-mini": Price(0.40, 1.60),
    "gpt-4.1-nano": Price(0.10, 0.40),
    "gpt-4.1": Price(2.00, 8.00),
    "gpt-5": Price(1.25, 10.00),
    "gpt-5-mini": Price(0.25, 2.00),
    LOCAL_MODEL: Price(0.0, 0.0),
}


@dataclass(frozen=True, slots=True)
class Engine:
    kind: str = "local"
    base_url: str | None = None
    model_path: str | None = None  # local engine: GGUF to load (default: SmolLM2)
    executor: str | None = None  # local engine: "module:attr" runner (tests use a double)
    faults: str | None = None  # local engine: fault spec for tests (see docs/server.md)
    relay: str | None = None  # local engine: OpenAI-compatible /v1 URL that answers each line
    relay_key_env: str | None = None  # relay: name of the env var holding its key (never the key)
    relay_concurrency: int = 8  # relay: lines sent at once
    relay_timeout: float = 600.0  # relay: seconds to wait for one answer
    relay_attempts: int = 6  # relay: tries per line (429/5xx/timeouts/connection errors)
    poll_interval: float = 5.0
    max_attempts: int = 3  # times a request is sent before it is rejected for good
    enqueued_token_limit: int | None = None  # the org's enqueued-token cap for the model
    queue_wait: float = 3600.0  # seconds to wait while other jobs hold the enqueued quota
    keep_inputs: bool = False  # keep uploaded shards in the org's file storage after collect
    keep_outputs: bool = True  # keep output/error files after they were downloaded


@dataclass(frozen=True, slots=True)
class Paths:
    root: Path
    tools: Path
    batches: Path
    cache: Path
    out: Path
    server: Path  # local engine state (uploaded files, batches)


@dataclass(frozen=True, slots=True)
class Limits:
    max_lines: int = MAX_SHARD_LINES
    max_bytes: int = MAX_SHARD_BYTES
    context_window: int | None = None  # tokens; None: the model's (context.CONTEXT_WINDOWS)


@dataclass(frozen=True, slots=True)
class Generation:
    temperature: float = 0.8
    max_tokens: int = 1024
    paraphrase_temperature: float = 0.9
    paraphrase_max_tokens: int = 512
    catalogue_size: int = 20  # tools listed in a no_tool / ambiguous request at most
    reasoning_effort: str | None = None  # reasoning models only (see reasoning.py)


@dataclass(frozen=True, slots=True)
class Checks:
    grounding: bool = True
    min_text_chars: int = 2


@dataclass(frozen=True, slots=True)
class Dedup:
    threshold: float = 0.8
    shingles: str = "word2"
    num_perm: int = 128


@dataclass(frozen=True, slots=True)
class Judge:
    """The judge stage: a model grades each sample the rules passed (or doubted).

    ``threshold`` is applied at build time and is not in any request, so changing
    it re-sends nothing; ``model`` is in the judge requests only (on load an unset
    model becomes the generation model).
    """

    enabled: bool = True
    model: str = ""
    threshold: float = 0.8
    scope: str = "all"  # "all": every sample that passed the rules; "doubtful": doubted only
    max_tokens: int = 1024


@dataclass(frozen=True, slots=True)
class Config:
    path: Path
    model: str
    seeds: int
    paraphrases_per_seed: int
    synthetic_cap: float
    random_seed: int
    scenarios: dict[str, float]
    engine: Engine
    paths: Paths
    limits: Limits = field(default_factory=Limits)
    generation: Generation = field(default_factory=Generation)
    checks: Checks = field(default_factory=Checks)
    dedup: Dedup = field(default_factory=Dedup)
    judge: Judge = field(default_factory=Judge)
    prices: dict[str, Price] = field(default_factory=dict)
    batch_discount: float = 0.5
    distractors: int = 2
    real: tuple[Path, ...] = ()

    def price(self) -> Price | None:
        """Price of the configured model, or None when the table has no entry."""
        return self.prices.get(self.model)


# key -> (python type(s), required)
_TOP = {
    "tools": (str, True),
    "model": (str, False),
    "seeds": (int, False),
    "paraphrases_per_seed": (int, False),
    "synthetic_cap": ((int, float), False),
    "random_seed": (int, False),
    "batch_discount": ((int, float), False),
    "distractors": (int, False),
    "real": (list, False),
    "scenarios": (dict, False),
    "engine": (dict, False),
    "paths": (dict, False),
    "limits": (dict, False),
    "generation": (dict, False),
    "checks": (dict, False),
    "dedup": (dict, False),
    "judge": (dict, False),
    "prices": (dict, False),
}


def _scenarios(r: Reader) -> dict[str, float]:
    r.check_keys(SCENARIOS)
    weights = dict(DEFAULT_WEIGHTS)
    for name in SCENARIOS:
        weights[name] = r.number(name, DEFAULT_WEIGHTS[name], 0.0)
    if sum(weights.values()) <= 0:
        raise ConfigError(
            "scenario weights sum to zero; give at least one a positive weight",
            path=r.path,
            where="scenarios",
        )
    return weights


def _engine(r: Reader) -> Engine:
    r.check_keys(Engine.__slots__)
    kind = r.get("kind", str, "local")
    if kind not in ENGINE_KINDS:
        raise r.fail("kind", f"must be one of {', '.join(ENGINE_KINDS)}, got {kind!r}")
    base_url = r.get("base_url", str, None)
    if base_url is not None and not base_url.startswith(("http://", "https://")):
        raise r.fail("base_url", f"must start with http:// or https://, got {base_url!r}")
    return Engine(
        kind=kind,
        base_url=base_url,
        model_path=r.get("model_path", str, None),
        executor=r.get("executor", str, None),
        faults=r.get("faults", str, None),
        **_relay(r, kind),
        poll_interval=r.number("poll_interval", 5.0, 0.0, 3600.0),
        max_attempts=r.integer("max_attempts", 3, 1, 100),
        enqueued_token_limit=r.integer("enqueued_token_limit", 0, 1000, 10**12)
        if "enqueued_token_limit" in r.table
        else None,
        queue_wait=r.number("queue_wait", 3600.0, 0.0, 7 * 86400.0),
        keep_inputs=r.get("keep_inputs", bool, False),
        keep_outputs=r.get("keep_outputs", bool, True),
    )


def _relay(r: Reader, kind: str) -> dict[str, Any]:
    """The relay settings (docs/scale.md); the key itself never appears in config."""
    relay = r.get("relay", str, None)
    if relay is not None:
        if not relay.startswith(("http://", "https://")):
            raise r.fail("relay", f"must start with http:// or https://, got {relay!r}")
        if kind != "local" or r.get("executor", str, None) is not None:
            raise r.fail("relay", 'needs kind = "local" and no executor')
    key_env = r.get("relay_key_env", str, None)
    if key_env is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,127}", key_env):
        hint = "give the NAME of an environment variable that holds the key, not the key"
        raise r.fail("relay_key_env", "is not an environment variable name", hint=hint)
    return {
        "relay": relay,
        "relay_key_env": key_env,
        "relay_concurrency": r.integer("relay_concurrency", 8, 1, 1024),
        "relay_timeout": r.number("relay_timeout", 600.0, 0.1, 86400.0),
        "relay_attempts": r.integer("relay_attempts", 6, 1, 100),
    }


def _judge(r: Reader, model: str) -> Judge:
    r.check_keys(Judge.__slots__)
    judge_model = r.get("model", str, model)
    if not judge_model.strip():
        raise r.fail("model", "must not be empty (leave it out to use the generation model)")
    scope = r.get("scope", str, "all")
    if scope not in JUDGE_SCOPES:
        raise r.fail("scope", f"must be one of {', '.join(JUDGE_SCOPES)}, got {scope!r}")
    return Judge(
        enabled=r.get("enabled", bool, True),
        model=judge_model,
        threshold=r.number("threshold", 0.8, 0.0, 1.0),
        scope=scope,
        max_tokens=r.integer(
            "max_tokens", reasoning.budget(1024, reasoning.default_effort(judge_model)), 16, 200_000
        ),
    )


def _prices(r: Reader) -> dict[str, Price]:
    prices = dict(DEFAULT_PRICES)
    for model, value in r.table.items():
        if not isinstance(value, dict):
            raise r.fail(model, "expected a table like { input = 0.15, output = 0.60 }")
        pr = r.sub(model)
        pr.check_keys(("input", "output"))
        prices[model] = Price(pr.number("input", 0.0, 0.0), pr.number("output", 0.0, 0.0))
    return prices


def load(path: str | Path) -> Config:
    """Read and validate forge.toml."""
    path = Path(path)
    return from_dict(read_toml(path), path)


def from_dict(data: dict[str, Any], path: Path) -> Config:
    """Validate an already parsed forge.toml (also used by tests)."""
    root = path.resolve().parent
    r = Reader(path, data)
    r.check_keys(_TOP)
    if "tools" not in data:
        raise r.fail("tools", "missing: name the tools file", 'e.g. tools = "tools.json"')
    tools_rel = r.get("tools", str, "")
    if not tools_rel.strip() or "\x00" in tools_rel:
        raise r.fail("tools", f"not a usable path: {tools_rel!r}")
    engine = _engine(r.sub("engine"))
    model = r.get("model", str, LOCAL_MODEL if engine.kind == "local" else "gpt-4o-mini")
    if not model.strip():
        raise r.fail("model", "must not be empty")
    rp = r.sub("paths")
    rp.check_keys(("batches", "cache", "out", "server"))
    paths = Paths(
        root=root,
        tools=user_path(root, tools_rel),
        batches=inside(root, rp.get("batches", str, "batches"), rp, "batches"),
        cache=inside(root, rp.get("cache", str, "cache"), rp, "cache"),
        out=inside(root, rp.get("out", str, "out"), rp, "out"),
        server=inside(root, rp.get("server", str, "batches/local-server"), rp, "server"),
    )
    rl = r.sub("limits")
    rl.check_keys(("max_lines", "max_bytes", "context_window"))
    limits = Limits(
        rl.integer("max_lines", MAX_SHARD_LINES, 1, MAX_SHARD_LINES),
        rl.integer("max_bytes", MAX_SHARD_BYTES, 1024, MAX_SHARD_BYTES),
        rl.integer("context_window", 0, 256, 100_000_000) if "context_window" in rl.table else None,
    )
    rg = r.sub("generation")
    rg.check_keys(Generation.__slots__)
    effort = rg.get("reasoning_effort", str, None)
    if effort is not None:
        problem = reasoning.effort_problem(model, effort)
        if problem:
            raise rg.fail("reasoning_effort", problem)
    effort = effort or reasoning.default_effort(model)
    generation = Generation(
        temperature=rg.number("temperature", 0.8, 0.0, 2.0),
        max_tokens=rg.integer("max_tokens", reasoning.budget(1024, effort), 16, 200_000),
        paraphrase_temperature=rg.number("paraphrase_temperature", 0.9, 0.0, 2.0),
        paraphrase_max_tokens=rg.integer(
            "paraphrase_max_tokens", reasoning.budget(512, effort), 16, 200_000
        ),
        catalogue_size=rg.integer("catalogue_size", 20, 1, 10_000),
        reasoning_effort=effort,
    )
    rc = r.sub("checks")
    rc.check_keys(Checks.__slots__)
    checks = Checks(
        grounding=rc.get("grounding", bool, True),
        min_text_chars=rc.integer("min_text_chars", 2, 0, 10_000),
    )
    rd = r.sub("dedup")
    rd.check_keys(Dedup.__slots__)
    shingles = rd.get("shingles", str, "word2")
    if shingles not in SHINGLES:
        raise rd.fail("shingles", f"must be one of {', '.join(SHINGLES)}, got {shingles!r}")
    dedup = Dedup(
        threshold=rd.number("threshold", 0.8, 0.05, 1.0),
        shingles=shingles,
        num_perm=rd.integer("num_perm", 128, 16, 1024),
    )
    real = []
    for i, item in enumerate(r.get("real", list, [])):
        if not isinstance(item, str) or not item.strip():
            raise r.fail(f"real[{i}]", f"expected a file path, got {item!r}")
        real.append(user_path(root, item))
    return Config(
        path=path,
        model=model,
        seeds=r.integer("seeds", 100, 0, 100_000_000),
        paraphrases_per_seed=r.integer("paraphrases_per_seed", 3, 0, 50),
        synthetic_cap=r.number("synthetic_cap", 0.30, 0.0, 0.95),
        random_seed=r.integer("random_seed", 1, 0, 2**31 - 1),
        scenarios=_scenarios(r.sub("scenarios")),
        engine=engine,
        paths=paths,
        limits=limits,
        generation=generation,
        checks=checks,
        dedup=dedup,
        judge=_judge(r.sub("judge"), model),
        prices=_prices(r.sub("prices")),
        batch_discount=r.number("batch_discount", 0.5, 0.0, 1.0),
        distractors=r.integer("distractors", 2, 0, 20),
        real=tuple(real),
    )
