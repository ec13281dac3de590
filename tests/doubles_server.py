"""Test double for the local Batch API server: an instant, deterministic executor.

``EchoExecutor`` is NOT a model. It answers every chat body at once with a
chat.completion whose content is derived only from the request: a JSON value
satisfying ``response_format``'s json_schema when there is one, else an echo
of the last user message. It records every body it ran, so tests can check
that no line ran twice.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from typing import Any


def value_for(schema: Any, name: str = "value", depth: int = 0) -> Any:
    """A simple, deterministic value that satisfies ``schema``."""
    if not isinstance(schema, dict) or depth > 8:
        return None
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return value_for(options[0], name, depth + 1)
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props = schema.get("properties", {})
        return {k: value_for(v, k, depth + 1) for k, v in props.items()}
    if kind == "array":
        count = max(1, int(schema.get("minItems", 1)))
        return [value_for(schema.get("items", {}), name, depth + 1) for _ in range(count)]
    if kind == "string":
        text = f"echo-{name}"
        return text.ljust(int(schema.get("minLength", 0)), "x")
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return float(schema.get("minimum", 1.5))
    if kind == "boolean":
        return True
    return None


def _schema_of(body: dict[str, Any]) -> Any:
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        return (fmt.get("json_schema") or {}).get("schema")
    return None


def _last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else json.dumps(content)
    return ""


class EchoExecutor:
    """Deterministic stand-in for ModelExecutor (test double)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.calls.append(body)
        schema = _schema_of(body)
        if schema is not None:
            content = json.dumps(value_for(schema), sort_keys=True)
        else:
            content = f"echo: {_last_user_text(body)}"
        messages = body.get("messages") or []
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages)
        completion_tokens = len(content.split())
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:24]
        return 200, {
            "id": f"chatcmpl-echo{digest}",
            "object": "chat.completion",
            "created": 0,
            "model": body.get("model"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": None},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }


# -- helpers shared by the server tests ------------------------------------------

TERMINAL = ("completed", "failed", "expired", "cancelled")


def request_line(
    custom_id: str,
    content: str = "hello",
    *,
    model: str = "echo-model",
    schema: dict[str, Any] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """One Batch API input line for /v1/chat/completions."""
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": content}]}
    if schema is not None:
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "answer", "schema": schema, "strict": True},
        }
    line = {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": body}
    line.update(overrides)
    return line


def jsonl(lines: list[Any]) -> bytes:
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def lines_for(n: int, prefix: str = "req") -> list[dict[str, Any]]:
    return [request_line(f"{prefix}-{i}", f"message number {i}") for i in range(n)]


def submit(client: Any, lines: list[Any]) -> Any:
    """Upload ``lines`` and create a batch; return the Batch."""
    f = client.files.create(file=("input.jsonl", jsonl(lines)), purpose="batch")
    return client.batches.create(
        input_file_id=f.id, endpoint="/v1/chat/completions", completion_window="24h"
    )


def wait_for(client: Any, batch_id: str, until: Any = None, timeout: float = 20.0) -> Any:
    """Poll until ``until(batch)`` (default: terminal status); return the batch."""
    check = until or (lambda b: b.status in TERMINAL)
    deadline = time.monotonic() + timeout
    while True:
        batch = client.batches.retrieve(batch_id)
        if check(batch):
            return batch
        if time.monotonic() > deadline:
            raise AssertionError(f"batch {batch_id} stuck in {batch.status}")
        time.sleep(0.02)


def read_jsonl(client: Any, file_id: str | None) -> list[dict[str, Any]]:
    if file_id is None:
        return []
    text = client.files.content(file_id).read().decode()
    return [json.loads(line) for line in text.splitlines() if line.strip()]
