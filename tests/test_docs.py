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


def test_formats_doc_and_export_help_state_what_trl_needs() -> None:
    """The trl export needs datasets >= 4.7; older stacks are sent to sharegpt."""
    from click.testing import CliRunner

    from forge_batch.cli import cli

    doc = (ROOT / "docs" / "formats.md").read_text()
    assert "**Requires `datasets >= 4.7`.**" in doc
    assert "**On an older stack, export `sharegpt`**" in doc
    help_text = " ".join(CliRunner().invoke(cli, ["export", "--help"]).output.split())
    assert "needs datasets >= 4.7 (on an older stack, export sharegpt)" in help_text
    assert "docs/formats.md" in (ROOT / "README.md").read_text()
