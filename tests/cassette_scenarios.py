"""Submit/collect scenarios shared by the cassette recorder and the replay tests.

``scripts/record_cassettes.py`` runs each scenario against a live local Batch
server (FakeModel executor + the scenario's faults) with vcrpy recording;
``tests/test_cassettes.py`` runs the same steps with record mode "none" and
no server at all, so the client code is tested against recorded HTTP only.
The project is rebuilt identically each time (same tools, config, keys and
shards), which is what makes the recorded requests match.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import vcr
from vcr.request import Request as VcrRequest

from forge_batch import config as config_mod
from forge_batch.collect import collect_batches
from forge_batch.engine import Engine, open_engine
from forge_batch.ledger import State
from forge_batch.prepare import prepare
from forge_batch.submit import cancel, submit, wait

TESTS = Path(__file__).resolve().parent
CASSETTES = TESTS.parent / "cassettes"
PORT = 8791
BASE_URL = f"http://127.0.0.1:{PORT}/v1"
PACED = 2500  # enqueued tokens: room for one 2-request shard at a time (~1,550 each)
# A recognizable fake key: the secrets test greps every cassette for it.
FAKE_KEY = "sk-forgebatch-TESTKEY-0123456789abcdef"
SECRET_HEADERS = [
    "authorization",
    "api-key",
    "openai-organization",
    "openai-project",
    "cookie",
    "set-cookie",
    "x-api-key",
]


def _body_unless_multipart(r1: VcrRequest, r2: VcrRequest) -> None:
    """Compare bodies, except multipart uploads (random boundary): vcrpy cannot."""
    kind = r1.headers.get("content-type") or r1.headers.get("Content-Type") or ""
    if kind.startswith("multipart/"):
        return
    b1, b2 = r1.body or b"", r2.body or b""
    try:
        same = json.loads(b1 or b"null") == json.loads(b2 or b"null")
    except ValueError:
        same = b1 == b2
    if not same:
        raise AssertionError(f"bodies differ: {b1[:200]!r} != {b2[:200]!r}")


def recorder(record_mode: str) -> vcr.VCR:
    v = vcr.VCR(
        cassette_library_dir=str(CASSETTES),
        record_mode=record_mode,
        match_on=["method", "scheme", "host", "port", "path", "query", "body_unless_multipart"],
        filter_headers=SECRET_HEADERS,
        decode_compressed_response=True,
    )
    v.register_matcher("body_unless_multipart", _body_unless_multipart)
    return v


def make_project(root: Path, tools: Path, **extra: Any) -> config_mod.Config:
    """The scenario project: small, deterministic, pointed at BASE_URL."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    shutil.copy(tools, root / "tools.json")
    lines = [
        'tools = "tools.json"',
        'model = "gpt-4o-mini"',
        "seeds = 6",
        "paraphrases_per_seed = 0",
        "random_seed = 11",
        "\n[engine]",
        'kind = "openai"',
        f'base_url = "{BASE_URL}"',
        "poll_interval = 0",
        "max_attempts = 3",
    ]
    lines.extend(f"{k} = {json.dumps(v)}" for k, v in extra.pop("engine", {}).items())
    lines += ["\n[judge]", "enabled = false"]  # the recorded scenarios: the seed stage's calls
    for table, values in extra.items():
        lines.append(f"\n[{table}]")
        lines.extend(f"{k} = {json.dumps(v)}" for k, v in values.items())
    (root / "forge.toml").write_text("\n".join(lines) + "\n")
    return config_mod.load(root / "forge.toml")


@dataclass(frozen=True)
class Scenario:
    name: str
    faults: str  # the live server's fault spec while recording
    steps: Callable[[config_mod.Config, Engine], dict[str, Any]]
    delay: float = 0.0  # FakeModel seconds per line while recording
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)  # forge.toml additions


def _submit_collect(cfg: config_mod.Config, engine: Engine) -> dict[str, Any]:
    prepare(cfg)
    submit(cfg, engine, wait_for=True, poll_interval=0)
    result = collect_batches(cfg, engine)
    return {"collected": result}


def _submit_collect_until_done(cfg: config_mod.Config, engine: Engine) -> dict[str, Any]:
    """As run does: prepare, submit and wait, collect, until nothing is left."""
    rounds = []
    for _ in range(10):
        prepare(cfg)
        sent = submit(cfg, engine, wait_for=True, poll_interval=0)
        rounds.append(collect_batches(cfg, engine))
        if not (sent.submitted or sent.resumed or rounds[-1].batches):
            break
    return {"rounds": rounds}


def _cancel_midway(cfg: config_mod.Config, engine: Engine) -> dict[str, Any]:
    prepare(cfg)
    submit(cfg, engine)
    state = State(cfg.paths.batches)
    rec = next(iter(state.ledger.values()))
    while True:  # wait until a line or two ran, then cancel
        batch = engine.retrieve(rec.batch_id)
        if batch.request_counts and batch.request_counts.completed >= 2:
            break
    cancel(cfg, engine)
    wait(State(cfg.paths.batches), engine, 0)
    return {"collected": collect_batches(cfg, engine)}


class Crash(Exception):
    """Stands in for the process dying at a chosen point."""


def _crash_between_upload_and_create(cfg: config_mod.Config, engine: Engine) -> dict[str, Any]:
    prepare(cfg)
    real_create = engine.create
    engine.create = lambda *a, **k: (_ for _ in ()).throw(Crash("killed before create"))
    with contextlib.suppress(Crash):
        submit(cfg, engine)
    engine.create = real_create
    after_crash = State(cfg.paths.batches).ledger.copy()
    submit(cfg, engine, wait_for=True, poll_interval=0)
    return {"after_crash": after_crash, "collected": collect_batches(cfg, engine)}


def _crash_after_create(cfg: config_mod.Config, engine: Engine) -> dict[str, Any]:
    """The batch was created but the process died before the ledger said so."""
    prepare(cfg)
    real_create = engine.create

    def create_then_die(*a: Any, **k: Any) -> Any:
        real_create(*a, **k)
        raise Crash("killed after create")

    engine.create = create_then_die
    with contextlib.suppress(Crash):
        submit(cfg, engine)
    engine.create = real_create
    submit(cfg, engine, wait_for=True, poll_interval=0)
    return {"collected": collect_batches(cfg, engine)}


SCENARIOS = {
    s.name: s
    for s in [
        Scenario("clean", "", _submit_collect),
        Scenario("failed_lines", "line_500=0.34,line_400=0.2,seed=5", _submit_collect),
        Scenario("expired", "expire_after=2", _submit_collect),
        Scenario("validation_failed", "fail_validation=1", _submit_collect),
        Scenario("cancelled", "", _cancel_midway, delay=0.3),
        Scenario("retry_429_500", "http_429=0.25,http_500=0.2,seed=9", _submit_collect),
        Scenario("crash_before_create", "", _crash_between_upload_and_create),
        Scenario("crash_after_create", "", _crash_after_create),
        # three shards, room for one at a time: submit queues two, the wait tops up
        Scenario(
            "queued",
            f"enqueued_limit={PACED}",
            _submit_collect,
            tables={"engine": {"enqueued_token_limit": PACED}, "limits": {"max_lines": 2}},
        ),
        # no client-side limit: the server refuses batches past it (token_limit_exceeded)
        # while the first runs; they are queued again and resubmitted, never given up
        Scenario(
            "refused",
            f"enqueued_limit={PACED}",
            _submit_collect_until_done,
            delay=0.2,
            tables={"limits": {"max_lines": 2}},
        ),
    ]
}


def run(
    name: str, root: Path, tools: Path, record_mode: str
) -> tuple[config_mod.Config, dict[str, Any]]:
    """Run one scenario under vcrpy; the caller provides (or not) the live server."""
    cfg = make_project(root, tools, **SCENARIOS[name].tables)
    with (
        recorder(record_mode).use_cassette(f"{name}.yaml"),
        open_engine(cfg, attempts=8, wait_min=0) as engine,
    ):
        return cfg, SCENARIOS[name].steps(cfg, engine)
