"""Record the vcrpy cassettes under cassettes/ (run: make cassettes).

Each scenario of tests/cassette_scenarios.py runs against a live local Batch
API server (forge-batch's own, on 127.0.0.1:8791, with the FakeModel test
double and the scenario's fault injection) while vcrpy records every HTTP
exchange. Authorization and api-key headers are filtered out before anything
is written; tests/test_cassettes.py then greps every cassette for keys.

Re-record after changing prompts, the request key or the client's calls: the
recorded requests must match what the code sends.

    python scripts/record_cassettes.py            # all scenarios
    python scripts/record_cassettes.py clean      # some
    OPENAI_API_KEY=sk-... python scripts/record_cassettes.py --openai
        # also record the clean scenario against api.openai.com (costs a few
        # cents with gpt-4o-mini; the key never reaches the cassette)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from cassette_scenarios import (  # noqa: E402
    CASSETTES,
    FAKE_KEY,
    PORT,
    SCENARIOS,
    recorder,
)
from cassette_scenarios import run as run_scenario  # noqa: E402
from doubles import FakeModel  # noqa: E402

from forge_batch.server import Faults, LocalServer  # noqa: E402

TOOLS = ROOT / "tests" / "data" / "mcp-memory.tools.json"


def record(name: str) -> None:
    scenario = SCENARIOS[name]
    cassette = CASSETTES / f"{name}.yaml"
    cassette.unlink(missing_ok=True)
    os.environ["OPENAI_API_KEY"] = FAKE_KEY
    with tempfile.TemporaryDirectory() as tmp:
        faults = Faults.parse(scenario.faults) if scenario.faults else None
        with LocalServer(
            Path(tmp) / "server", executor=FakeModel(delay=scenario.delay), faults=faults, port=PORT
        ):
            run_scenario(name, Path(tmp) / "project", TOOLS, "all")
    print(f"recorded {cassette.relative_to(ROOT)} ({cassette.stat().st_size:,} bytes)")


def record_openai() -> None:
    """The clean scenario against OpenAI itself (needs OPENAI_API_KEY)."""
    from cassette_scenarios import _submit_collect, make_project

    from forge_batch.engine import open_engine

    if not os.environ.get("OPENAI_API_KEY", "").startswith("sk-"):
        sys.exit("--openai needs a real OPENAI_API_KEY in the environment")
    cassette = "openai_clean.yaml"
    (CASSETTES / cassette).unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = make_project(Path(tmp) / "project", TOOLS)
        cfg = cfg.__class__(
            **{
                **{f: getattr(cfg, f) for f in cfg.__dataclass_fields__},
                "engine": cfg.engine.__class__(kind="openai", poll_interval=30.0),
            }
        )
        with recorder("all").use_cassette(cassette), open_engine(cfg) as engine:
            _submit_collect(cfg, engine)
    print(f"recorded cassettes/{cassette}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "names", nargs="*", help=f"scenarios (default: all): {', '.join(SCENARIOS)}"
    )
    parser.add_argument("--openai", action="store_true", help="also record against OpenAI")
    args = parser.parse_args()
    unknown = set(args.names) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    CASSETTES.mkdir(exist_ok=True)
    for name in args.names or SCENARIOS:
        record(name)
    if args.openai:
        record_openai()


if __name__ == "__main__":
    main()
