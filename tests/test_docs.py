"""Docs that are generated must match the code."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))


def test_cli_reference_is_current() -> None:
    from cli_reference import reference

    assert (ROOT / "docs" / "cli.md").read_text() == reference(), (
        "docs/cli.md is stale: python scripts/cli_reference.py > docs/cli.md"
    )


def test_readme_test_command_is_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make demo" in readme
    assert (ROOT / ".ci" / "run").read_text().strip().endswith("make test")
