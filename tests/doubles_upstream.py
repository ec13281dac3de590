"""Test double: an OpenAI-compatible chat server (NOT a model server) for relay tests.

A small Starlette app that answers ``POST /v1/chat/completions`` with
tests/doubles.py's FakeModel, like vLLM, Ollama or llama.cpp's server would
answer with a model, plus the misbehaviour the relay must survive, each
decided by a hash of the request body (so a resend of the same body sees the
next step):

- ``flaky=P``: that share of bodies answers 429 (Retry-After: 0), then 500,
  then hangs past the client's timeout, then answers;
- ``reject=P``: that share always answers 400 with an OpenAI error body;
- ``no_usage``: answers carry no ``usage``;
- ``delay=S``: every answer waits S seconds (the benchmark's model time);
- ``echo``: answer a fixed tiny completion instead of FakeModel (benchmark).

Run it as a process (so a test can kill it):
``python tests/doubles_upstream.py --port N [--flaky P] [--reject P] ...``.
Every 200 answer appends the body's hash to ``--log`` if given.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sys
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parent))
from doubles import FakeModel


@dataclass
class Behaviour:
    flaky: float = 0.0
    reject: float = 0.0
    no_usage: bool = False
    delay: float = 0.0
    hang: float = 5.0
    echo: bool = False
    log: Path | None = None
    key: str | None = None
    attempts: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


def unit(digest: str, salt: str) -> float:
    return int(hashlib.sha256((salt + digest).encode()).hexdigest()[:8], 16) / 2**32


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def _error(status: int, message: str, kind: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


ECHO = {
    "id": "chatcmpl-echo",
    "object": "chat.completion",
    "created": 0,
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "ok"},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
}


def make_app(how: Behaviour) -> Starlette:
    model = FakeModel()

    async def chat(request: Request) -> Response:
        if how.key is not None and request.headers.get("authorization") != f"Bearer {how.key}":
            return _json(_error(401, "bad key", "invalid_request_error", "invalid_api_key"), 401)
        raw = await request.body()
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return _json(_error(400, "not JSON", "invalid_request_error"), 400)
        digest = hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()
        with how.lock:
            how.attempts[digest] += 1
            attempt = how.attempts[digest]
        if unit(digest, "reject") < how.reject:
            msg = "This model's maximum context length is 8192 tokens (test double)."
            return _json(_error(400, msg, "invalid_request_error", "context_length_exceeded"), 400)
        if unit(digest, "flaky") < how.flaky and attempt <= 3:
            if attempt == 1:
                msg = "Rate limit reached (test double)."
                return _json(
                    _error(429, msg, "requests", "rate_limit_exceeded"), 429, {"Retry-After": "0"}
                )
            if attempt == 2:
                return _json(_error(500, "upstream hiccup (test double)", "server_error"), 500)
            await asyncio.sleep(how.hang)  # past the relay's timeout
        if how.delay:
            await asyncio.sleep(how.delay)
        if how.echo:
            answer: dict[str, Any] = dict(ECHO, model=body.get("model"))
        else:
            status, answer = model(body)
            if status != 200:
                return _json(answer, status)
        if how.no_usage:
            answer = {k: v for k, v in answer.items() if k != "usage"}
        if how.log is not None:
            with open(how.log, "a") as fh:
                fh.write(digest + "\n")
        return _json(answer)

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--flaky", type=float, default=0.0)
    ap.add_argument("--reject", type=float, default=0.0)
    ap.add_argument("--no-usage", action="store_true")
    ap.add_argument("--delay", type=float, default=0.0)
    ap.add_argument("--hang", type=float, default=5.0)
    ap.add_argument("--echo", action="store_true")
    ap.add_argument("--log", type=Path, default=None)
    ap.add_argument("--key", default=None)
    a = ap.parse_args()
    how = Behaviour(a.flaky, a.reject, a.no_usage, a.delay, a.hang, a.echo, a.log, a.key)
    uvicorn.run(make_app(how), host="127.0.0.1", port=a.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
