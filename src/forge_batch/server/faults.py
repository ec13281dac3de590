"""Fault injection for the local Batch API server.

Tests and users need to see how a client copes with what the real service does
on a bad day: failed lines, cut-off answers, expired batches, rate limits and
dropped connections. Every decision is a pure function of ``seed`` plus stable
inputs (the batch's creation number and custom_id for lines, a call counter
for HTTP faults), so a run with the same spec and the same calls is
reproducible. Batch ids are random, so they are not an input: a test keyed on
them passed or failed by luck.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import ConfigError
from .apierrors import error_body

LineFault = Literal["500", "400", "garbage", "length", "refusal"]
HttpFault = Literal["429", "500", "reset"]

_PROBABILITIES = (
    "line_500",
    "line_400",
    "line_garbage",
    "line_length",
    "line_refusal",
    "http_429",
    "http_500",
    "reset",
)
_COUNTS = ("expire_after", "fail_validation", "duplicate_line", "enqueued_limit")
_SECONDS = ("slow_finalize", "line_delay")
_FLAGS = ("shuffle_output", "reasoning")
_SEED = "seed"  # the option naming the random seed (not the seed stage)

SPEC_HELP = (
    "expected name=value items separated by commas, e.g. 'line_500=0.1,expire_after=5'; "
    f"names: {', '.join((*_PROBABILITIES, *_COUNTS, *_SECONDS, *_FLAGS, _SEED))}"
)


def unit(seed: int, *parts: object) -> float:
    """A stable pseudo-random number in [0, 1) from ``seed`` and ``parts``."""
    text = "\x1f".join(str(p) for p in (seed, *parts))
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True, slots=True)
class Faults:
    """A parsed fault spec; the default instance injects nothing."""

    line_500: float = 0.0
    line_400: float = 0.0
    line_garbage: float = 0.0
    line_length: float = 0.0
    line_refusal: float = 0.0
    http_429: float = 0.0
    http_500: float = 0.0
    reset: float = 0.0
    expire_after: int | None = None
    fail_validation: int = 0
    duplicate_line: int = 0
    slow_finalize: float = 0.0
    line_delay: float = 0.0
    shuffle_output: bool = False
    reasoning: bool = False  # answer as a reasoning model (see think())
    enqueued_limit: int = 0  # tokens that may be enqueued at once (see enqueued_error())
    seed: int = 0

    @classmethod
    def parse(cls, spec: str | None) -> Faults:
        """Parse ``name=value,...``; raise ConfigError naming the bad item."""
        values: dict[str, object] = {}
        for raw in (spec or "").split(","):
            item = raw.strip()
            if not item:
                continue
            name, sep, value = (part.strip() for part in item.partition("="))
            if not sep or not value:
                raise ConfigError(f"fault item {item!r} has no value", hint=SPEC_HELP)
            if name in values:
                raise ConfigError(f"fault item {item!r} repeats {name!r}", hint=SPEC_HELP)
            values[name] = _convert(item, name, value)
        return cls(**values)  # type: ignore[arg-type]

    def __str__(self) -> str:
        default = Faults()
        items = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value != getattr(default, f.name):
                items.append(f"{f.name}={int(value) if isinstance(value, bool) else value}")
        return ",".join(items)

    @property
    def active(self) -> bool:
        """True when any fault (or delay) is configured."""
        return self != Faults(seed=self.seed)

    def line_fault(self, batch_seq: int, custom_id: str) -> LineFault | None:
        """Which fault, if any, hits this line of the ``batch_seq``-th batch created.

        A resent line comes in a later batch, so it may pass where it failed.
        """
        checks: tuple[tuple[LineFault, float], ...] = (
            ("500", self.line_500),
            ("400", self.line_400),
            ("garbage", self.line_garbage),
            ("length", self.line_length),
            ("refusal", self.line_refusal),
        )
        for kind, p in checks:
            if p > 0 and unit(self.seed, "line", kind, batch_seq, custom_id) < p:
                return kind
        return None

    def http_fault(self, call_index: int) -> HttpFault | None:
        """Which fault, if any, hits API call number ``call_index`` (0-based)."""
        checks: tuple[tuple[HttpFault, float], ...] = (
            ("429", self.http_429),
            ("500", self.http_500),
            ("reset", self.reset),
        )
        for kind, p in checks:
            if p > 0 and unit(self.seed, "http", kind, call_index) < p:
                return kind
        return None


def _convert(item: str, name: str, value: str) -> object:
    try:
        if name in _PROBABILITIES:
            p = float(value)
            if not 0.0 <= p <= 1.0:
                raise ValueError
            return p
        if name in _COUNTS:
            n = int(value)
            if n < 0:
                raise ValueError
            return n
        if name in _SECONDS:
            s = float(value)
            if not 0.0 <= s <= 3600.0:
                raise ValueError
            return s
        if name in _FLAGS:
            if value not in ("0", "1"):
                raise ValueError
            return value == "1"
        if name == _SEED:
            return int(value)
    except ValueError:
        kind = (
            "a probability between 0 and 1"
            if name in _PROBABILITIES
            else "a whole number >= 0"
            if name in _COUNTS
            else "seconds between 0 and 3600"
            if name in _SECONDS
            else "0 or 1"
            if name in _FLAGS
            else "an integer"
        )
        raise ConfigError(f"fault item {item!r}: {name} must be {kind}", hint=SPEC_HELP) from None
    raise ConfigError(f"fault item {item!r}: unknown fault {name!r}", hint=SPEC_HELP)


REFUSAL_TEXT = "I'm sorry, but I can't help with that request."


def fault_response(kind: LineFault) -> tuple[int, dict[str, Any]]:
    """The (status, body) an injected line_500 / line_400 fault answers with."""
    if kind == "500":
        message = "The server had an error processing this request (injected fault line_500)."
        return 500, error_body(message, type="server_error")
    message = "Invalid request (injected fault line_400)."
    return 400, error_body(message, code="invalid_request")


def damage_completion(kind: LineFault, completion: dict[str, Any]) -> dict[str, Any]:
    """Spoil a 200 chat.completion the way real models sometimes do."""
    out = copy.deepcopy(completion)
    choices = out.get("choices") or [{"index": 0, "message": {"role": "assistant"}}]
    out["choices"] = choices
    choice = choices[0]
    message = choice.setdefault("message", {"role": "assistant"})
    content = message.get("content") if isinstance(message.get("content"), str) else ""
    if kind == "garbage":
        message["content"] = "Sure! Here is the JSON you asked for:\n{oops, not json ]"
        choice["finish_reason"] = "stop"
    elif kind == "length":
        text = content if len(content) >= 4 else '{"partial": "value that never ends'
        message["content"] = text[: max(1, len(text) // 2)]
        choice["finish_reason"] = "length"
    elif kind == "refusal":
        message["content"] = None
        message["refusal"] = REFUSAL_TEXT
        choice["finish_reason"] = "stop"
    return out


# Reasoning tokens a simulated reasoning model spends before it writes the answer,
# by reasoning_effort; a request without one gets the API's default, medium.
REASONING_SPEND = {
    "none": 0,
    "minimal": 48,
    "low": 400,
    "medium": 1500,
    "high": 4000,
    "xhigh": 8000,
}
MIN_ANSWER_TOKENS = 16


def _unsupported(message: str, param: str) -> tuple[int, dict[str, Any]]:
    body = error_body(message, code="unsupported_value")
    body["error"]["param"] = param
    return 400, body


def think(body: dict[str, Any], executor: Any) -> tuple[int, dict[str, Any]]:
    """Answer ``body`` as a reasoning model (fault ``reasoning=1``) would.

    Like gpt-5 and the o-series: a non-default temperature or ``max_tokens`` is a
    400; reasoning tokens are spent from ``max_completion_tokens`` first, and a
    budget too small for them returns an empty answer with finish_reason
    "length" whose usage bills the whole budget as reasoning tokens.
    """
    if body.get("temperature", 1) != 1:
        return _unsupported(
            f"Unsupported value: 'temperature' does not support {body['temperature']} with "
            "this model. Only the default (1) value is supported.",
            "temperature",
        )
    if "max_tokens" in body:
        return _unsupported(
            "Unsupported parameter: 'max_tokens' is not supported with this model. "
            "Use 'max_completion_tokens' instead.",
            "max_tokens",
        )
    effort = body.get("reasoning_effort") or "medium"
    if effort not in REASONING_SPEND:
        return _unsupported(f"Unsupported value: reasoning_effort {effort!r}.", "reasoning_effort")
    spend = REASONING_SPEND[effort]
    budget = body.get("max_completion_tokens")
    budget = budget if isinstance(budget, int) and budget > 0 else 100_000
    prompt = len(str(body.get("messages", ""))) // 4
    if budget < spend + MIN_ANSWER_TOKENS:
        digest = hashlib.sha256(repr(sorted(body.items())).encode()).hexdigest()[:24]
        return 200, {
            "id": f"chatcmpl-{digest}",
            "object": "chat.completion",
            "created": 0,
            "model": body.get("model"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "", "refusal": None},
                    "finish_reason": "length",
                }
            ],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": budget,
                "total_tokens": prompt + budget,
                "completion_tokens_details": {"reasoning_tokens": budget},
            },
        }
    inner = {k: v for k, v in body.items() if k != "reasoning_effort"}
    inner["max_completion_tokens"] = budget - spend
    status, response = executor(inner)
    usage = response.get("usage") if status == 200 else None
    if isinstance(usage, dict):
        usage = dict(usage)
        for key in ("completion_tokens", "total_tokens"):
            if isinstance(usage.get(key), int):
                usage[key] += spend
        usage["completion_tokens_details"] = {"reasoning_tokens": spend}
        response = {**response, "usage": usage}
    return status, response


CHARS_PER_TOKEN = 4  # the token estimate of an input file, as forge-batch's own


def enqueued_error(limit: int, tokens: int, enqueued: int, model: str) -> dict[str, Any] | None:
    """The ``errors`` of a batch past the enqueued-token limit (fault ``enqueued_limit``).

    OpenAI caps the tokens an organization may have enqueued per model; a
    batch past it is created, then fails validation with this error (shape
    and wording as OpenAI's). Tokens here are the input file's bytes / 4.
    """
    if not limit or enqueued + tokens <= limit:
        return None
    message = (
        f"Enqueued token limit reached for {model} in organization org-local. "
        f"Limit: {limit:,} enqueued tokens. Please try again once some in_progress "
        "batches have been completed."
    )
    error = {"code": "token_limit_exceeded", "message": message, "param": None, "line": None}
    return {"object": "list", "data": [error]}
