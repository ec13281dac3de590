"""Shared fixtures: example tool sets and throwaway projects."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
SHARED = ROOT.parent / "shared"
DATA = TESTS / "data"
sys.path.insert(0, str(TESTS))


def _find_example(name: str) -> Path:
    """The shared examples, or the copies under tests/data when ../shared is absent."""
    for folder in (SHARED / "examples", DATA):
        if (folder / name).exists():
            return folder / name
    raise FileNotFoundError(name)


@pytest.fixture
def memory_tools() -> Path:
    return _find_example("mcp-memory.tools.json")


@pytest.fixture
def filesystem_tools() -> Path:
    return _find_example("mcp-filesystem.tools.json")


def write_toml(path: Path, values: dict[str, Any]) -> None:
    """A forge.toml from nested dicts (tables for dict values)."""
    top = [(k, v) for k, v in values.items() if not isinstance(v, dict)]
    tables = [(k, v) for k, v in values.items() if isinstance(v, dict)]
    lines = [f"{k} = {json.dumps(v)}" for k, v in top]
    for name, table in tables:
        lines.append(f"\n[{name}]")
        lines.extend(f"{k} = {json.dumps(v)}" for k, v in table.items())
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def make_project(tmp_path: Path, memory_tools: Path) -> Callable[..., Path]:
    """make_project(tools=None, **settings) -> path of forge.toml in a fresh folder.

    The judge stage is off unless ``judge={...}`` is given: the tests that pin
    datasets, counts and shards test the rule layer; tests/test_judge_e2e.py
    and the fault matrix (tests/faultkit.py) run with it on."""
    counter = {"n": 0}

    def make(tools: Path | None = None, folder: str | None = None, **settings: Any) -> Path:
        counter["n"] += 1
        root = tmp_path / (folder or f"project{counter['n']}")
        root.mkdir(parents=True, exist_ok=True)
        shutil.copy(tools or memory_tools, root / "tools.json")
        values: dict[str, Any] = {
            "tools": "tools.json",
            "seeds": 12,
            "paraphrases_per_seed": 2,
            "random_seed": 7,
        }
        engine = {
            "kind": "local",
            "executor": str(TESTS / "doubles.py") + ":FakeModel",
            "poll_interval": 0.0,
        }
        engine.update(settings.pop("engine", {}))
        values["judge"] = {"enabled": False}
        values.update(settings)
        values["engine"] = engine
        write_toml(root / "forge.toml", values)
        return root / "forge.toml"

    return make
