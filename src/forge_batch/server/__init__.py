"""The local OpenAI-compatible Batch API server (forge-batch's default engine).

It speaks the Files and Batches API over real HTTP on 127.0.0.1, keeps its
state on disk so a restart loses nothing, runs each request line through a
local GGUF model (or any executor), and can inject faults for tests.
See docs/server.md.
"""

from __future__ import annotations

from .executors import Executor, ModelExecutor, default_model_path, load_executor
from .faults import Faults
from .relay import RelayExecutor, RelaySettings
from .runner import LocalServer, serve

__all__ = [
    "Executor",
    "Faults",
    "LocalServer",
    "ModelExecutor",
    "RelayExecutor",
    "RelaySettings",
    "default_model_path",
    "load_executor",
    "serve",
]
