"""The normalized tool and tool set every later step works with.

Whatever format a tools file came in, each tool ends up as one Tool: its
original schema (what checks and exports use) beside its strict form (what
prompts send), so nothing downstream needs to know the source format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from . import strict

ONE_LINE = 160


@dataclass(frozen=True, slots=True, eq=False)
class Tool:
    """One tool: its original schema (for checks and export) and its strict form."""

    name: str  # as the source spells it
    export_name: str  # a valid OpenAI function name (usually the same)
    description: str
    parameters: dict[str, Any]  # normalized JSON Schema, original meaning
    output_schema: dict[str, Any] | None
    strict: dict[str, Any]  # strict Structured Outputs form of parameters
    codec: strict.Codec
    notes: tuple[str, ...] = ()

    def openai(self) -> dict[str, Any]:
        """OpenAI tools entry with the original (unconverted) parameters."""
        return {
            "type": "function",
            "function": {
                "name": self.export_name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }

    def one_line(self) -> str:
        """First sentence of the description, for tool catalogs in prompts."""
        text = " ".join(self.description.split())
        for stop in (". ", "\n"):
            if stop in text:
                text = text.split(stop, 1)[0] + ("." if stop == ". " else "")
                break
        return text if len(text) <= ONE_LINE else text[: ONE_LINE - 1] + "…"


@dataclass(frozen=True, slots=True)
class Skipped:
    name: str
    where: str
    reason: str


@dataclass(frozen=True, slots=True, eq=False)
class ToolSet:
    path: Path
    format: str
    tools: tuple[Tool, ...]
    skipped: tuple[Skipped, ...] = ()
    by_name: dict[str, Tool] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        self.by_name.update({t.export_name: t for t in self.tools})


def fingerprint(tool: Tool) -> bytes:
    """Canonical bytes of what a prompt shows of a tool (for change detection)."""
    return orjson.dumps(
        [tool.export_name, tool.description, tool.strict], option=orjson.OPT_SORT_KEYS
    )
