"""Create a project: a commented forge.toml next to the user's tools."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from .errors import ConfigError
from .fsio import atomic_write, write_problem
from .tools import load_tools


def init(
    tools: Path,
    folder: Path,
    *,
    engine: str = "local",
    force: bool = False,
    seeds: int | None = None,
    paraphrases: int | None = None,
) -> Path:
    """Write ``folder/forge.toml`` for ``tools``; the tools must load first."""
    target = folder / "forge.toml"
    problem = write_problem(target)
    if problem:
        raise ConfigError(f"cannot write forge.toml: {problem}", path=target)
    if target.exists() and not force:
        raise ConfigError("already exists", path=target, hint="use --force to overwrite it")
    load_tools(tools)  # fail now, not at the first prepare
    rel = os.path.relpath(tools.resolve(), folder.resolve())
    local = engine == "local"
    text = resources.files("forge_batch").joinpath("templates/forge.toml").read_text("utf-8")
    text = text.format(
        tools=rel.replace("\\", "/"),
        model="SmolLM2-135M-Instruct" if local else "gpt-4o-mini",
        seeds=seeds if seeds is not None else (8 if local else 200),
        paraphrases=paraphrases if paraphrases is not None else (2 if local else 1),
        engine=engine,
        poll=1.0 if local else 30.0,
        max_tokens="max_tokens = 512"
        if local
        else "# max_tokens = 1024     # default; reasoning models get room for reasoning on top",
    )
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(target, text.encode("utf-8"))
    return target
