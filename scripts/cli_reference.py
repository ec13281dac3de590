"""Generate docs/cli.md from the commands' --help (tests/test_docs.py keeps it current).

python scripts/cli_reference.py > docs/cli.md
"""

from __future__ import annotations

import click
from click.testing import CliRunner

from forge_batch.cli import cli


def commands(group: click.Group, prefix: list[str]) -> list[list[str]]:
    out = []
    for name in sorted(group.commands):
        cmd = group.commands[name]
        out.append([*prefix, name])
        if isinstance(cmd, click.Group):
            out.extend(commands(cmd, [*prefix, name]))
    return out


def reference() -> str:
    runner = CliRunner()
    parts = [
        "# forge-batch command reference",
        "",
        "Generated from `--help` by `scripts/cli_reference.py`; do not edit by hand.",
        "",
    ]
    for path in [[], *commands(cli, [])]:
        text = runner.invoke(
            cli, [*path, "--help"], prog_name="forge-batch", terminal_width=100
        ).output
        parts += [f"## forge-batch {' '.join(path)}".rstrip(), "", "```", text.rstrip(), "```", ""]
    return "\n".join(parts)


if __name__ == "__main__":
    print(reference(), end="")
