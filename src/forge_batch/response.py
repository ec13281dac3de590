"""Is a chat.completion body safe to keep? One check, at ingest and on every cache read.

Why: a 200 answer is outside data. One body of an odd shape (``"usage": "n/a"``,
``message`` a list, ``prompt_tokens`` a dict, content JSON nested 5,000 deep, a
5,000-digit number) used to be cached as-is, and then every later command
crashed on it (AttributeError in the usage sums, RecursionError or ValueError in
``json.loads``) until someone deleted the entry by hand. So:

* collect and ``collect --import`` check every 200 body before caching it; a
  body that fails is a failed line with reason ``invalid_response`` and the
  message below, never cached;
* the cache's readers run the same check, so an entry cached before this check
  existed is treated like a corrupted one: dropped, and the request is pending
  again.

What passes (``check`` returns the normalized body, or the reason it does not):

* a JSON object that orjson can write back (nesting <= 255, integers within 64
  bits) in at most ``MAX_BYTES``;
* ``choices``: a list of objects, each with ``message`` an object whose
  ``content`` and ``refusal`` are a string or null, ``role`` a string if present,
  ``tool_calls`` absent, null or a list of ``{id: str, type: str, function:
  {name: str, arguments: str}}``; ``finish_reason`` a string or null;
* ``model`` and ``id``: a string or null when present;
* message content and tool-call arguments (parsed later with ``json.loads``):
  bracket nesting outside string literals at most ``MAX_DEPTH``, and no number
  of more than ``MAX_DIGITS`` digits; this holds whether or not the text is JSON;
* ``usage``: absent, null or an object. Token counts (every entry named
  ``*_tokens``, at the top or in the details) are non-negative whole numbers up
  to ``MAX_COUNT``; the details are objects or null.

What is normalized rather than refused (harmless shapes of compatible servers):
a whole float count (``12.0`` -> ``12``), a null count or details object
(dropped), other usage entries that are plain values (kept as they are), other
usage entries that are objects or lists (dropped: nothing reads them, and they
would nest the dataset's meta arbitrarily deep).
"""

from __future__ import annotations

import re
from itertools import accumulate
from typing import Any

import orjson

MAX_BYTES = 16 << 20  # one response, encoded; far above any real answer
MAX_DEPTH = 64  # [ and { nesting in content and arguments (strict schemas nest ~10)
MAX_DIGITS = 100  # digits in one number inside content or arguments
MAX_COUNT = 10**9  # tokens of one response; sums over millions stay within 64 bits

REASON = "invalid_response"
DETAILS = ("prompt_tokens_details", "completion_tokens_details")

Checked = tuple[dict[str, Any], None] | tuple[None, str]

# A JSON string literal (an unterminated one runs to the end of the text).
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|$)', re.S)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_LONG_NUMBER = re.compile(rf"\d{{{MAX_DIGITS + 1}}}")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def text_problem(text: str) -> str | None:
    """Why ``text`` would break ``json.loads`` (too deep, a huge number), or None.

    The fast path counts brackets and looks for long digit runs; only a text
    that might fail is scanned with its string literals blanked out (brackets
    and digits inside strings are harmless).
    """
    deep = text.count("[") + text.count("{") > MAX_DEPTH
    if not deep and not _LONG_NUMBER.search(text):
        return None
    bare = _STRING.sub('""', text)
    if deep:
        brackets = _NOT_BRACKET.sub("", bare)
        depth = max(accumulate(_STEP[c] for c in brackets), default=0)
        if depth > MAX_DEPTH:
            return f"nested {depth} deep (at most {MAX_DEPTH})"
    if _LONG_NUMBER.search(bare):
        return f"a number of more than {MAX_DIGITS} digits"
    return None


def _name(key: str) -> str:
    """A key from outside as it may appear in a message (no control characters, short)."""
    return key if key.isprintable() and len(key) <= 40 else repr(key)[:40]


def _count(value: Any) -> int | None:
    """A token count as an int, or None when it is not one (bools are not counts)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and 0 <= value <= MAX_COUNT:
        return value
    return None


def _counts(obj: dict[str, Any], where: str) -> dict[str, Any] | str:
    """Normalized entries of a usage (or details) object, or the problem.

    Entries named ``*_tokens`` are counts (or null, dropped); other entries are
    kept when they are plain values (a server's ``queue_time: 0.01``) and dropped
    when they are objects or lists.
    """
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if not key.endswith("_tokens"):
            if not isinstance(value, dict | list):
                out[key] = value
            continue
        if value is None:
            continue
        n = _count(value)
        if n is None:
            shown = _kind(value) if isinstance(value, dict | list) else repr(value)[:40]
            return f"{where}.{_name(key)} is {shown}, expected a token count"
        out[key] = n
    return out


def check_usage(usage: Any) -> tuple[dict[str, Any] | None, str | None]:
    """(normalized usage or None when absent, problem or None)."""
    if usage is None:
        return None, None
    if not isinstance(usage, dict):
        return None, f"usage is {_kind(usage)}, expected an object"
    out = _counts({k: v for k, v in usage.items() if k not in DETAILS}, "usage")
    if isinstance(out, str):
        return None, out
    for name in DETAILS:
        details = usage.get(name)
        if details is None:
            continue
        if not isinstance(details, dict):
            return None, f"usage.{name} is {_kind(details)}, expected an object"
        sub = _counts(details, f"usage.{name}")
        if isinstance(sub, str):
            return None, sub
        out[name] = sub
    return out, None


def _tool_calls(calls: Any, where: str) -> str | None:
    if calls is None:
        return None
    if not isinstance(calls, list):
        return f"{where}.tool_calls is {_kind(calls)}, expected a list"
    for i, call in enumerate(calls):
        at = f"{where}.tool_calls[{i}]"
        if not isinstance(call, dict):
            return f"{at} is {_kind(call)}, expected an object"
        for key in ("id", "type"):
            if not isinstance(call.get(key), str):
                return f"{at}.{key} is {_kind(call.get(key))}, expected a string"
        function = call.get("function")
        if not isinstance(function, dict):
            return f"{at}.function is {_kind(function)}, expected an object"
        for key in ("name", "arguments"):
            if not isinstance(function.get(key), str):
                return f"{at}.function.{key} is {_kind(function.get(key))}, expected a string"
        problem = text_problem(function["arguments"])
        if problem:
            return f"{at}.function.arguments: {problem}"
    return None


def _choice(choice: Any, where: str) -> str | None:
    if not isinstance(choice, dict):
        return f"{where} is {_kind(choice)}, expected an object"
    finish = choice.get("finish_reason")
    if finish is not None and not isinstance(finish, str):
        return f"{where}.finish_reason is {_kind(finish)}, expected a string"
    message = choice.get("message")
    at = f"{where}.message"
    if not isinstance(message, dict):
        return f"{at} is {_kind(message)}, expected an object"
    for key in ("content", "refusal", "role"):
        value = message.get(key)
        if value is not None and not isinstance(value, str):
            return f"{at}.{key} is {_kind(value)}, expected a string or null"
    content = message.get("content")
    if content:
        problem = text_problem(content)
        if problem:
            return f"{at}.content: {problem}"
    return _tool_calls(message.get("tool_calls"), at)


def check(body: Any, size: int | None = None) -> Checked:
    """(normalized body, None) or (None, what is wrong), for a chat.completion body.

    ``size`` is the body's encoded size when the caller knows it (a cache read);
    otherwise the body is encoded here, which also proves orjson can store it.
    Pure: the body passed in is not changed.
    """
    if not isinstance(body, dict):
        return None, f"body is {_kind(body)}, expected an object"
    if size is None:
        try:
            size = len(orjson.dumps(body))
        except orjson.JSONEncodeError as exc:
            return None, f"body cannot be stored: {exc}"
    if size > MAX_BYTES:
        return None, f"body is {size} bytes (at most {MAX_BYTES})"
    for key in ("id", "model"):
        value = body.get(key)
        if value is not None and not isinstance(value, str):
            return None, f"{key} is {_kind(value)}, expected a string"
    choices = body.get("choices")
    if not isinstance(choices, list):
        return None, f"choices is {_kind(choices)}, expected a list"
    for i, choice in enumerate(choices):
        problem = _choice(choice, f"choices[{i}]")
        if problem:
            return None, problem
    usage, problem = check_usage(body.get("usage"))
    if problem:
        return None, problem
    if usage != body.get("usage"):
        body = {**body, "usage": usage} if usage is not None else _without(body, "usage")
    return body, None


def _without(body: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != key}


def reports_tokens(usage: Any) -> bool:
    """Whether a usage object says how many tokens were billed (prompt or completion).

    Some OpenAI-compatible servers send no ``usage`` (or one without the
    counts); their answers are sound, but the totals cannot include them, and
    a total of 0 would read as a free run.
    """
    usage, problem = check_usage(usage)
    return (
        not problem
        and usage is not None
        and ("prompt_tokens" in usage or "completion_tokens" in usage)
    )


def token_counts(usage: Any) -> tuple[int, int, int | None]:
    """(prompt, completion, cached or None when not reported) of a usage object.

    Never raises: anything that is not a valid usage object counts as zero
    tokens (bodies are checked before they are cached, so this is a last guard).
    """
    usage, problem = check_usage(usage)
    if problem or usage is None:
        return 0, 0, None
    details = usage.get("prompt_tokens_details") or {}
    cached = details.get("cached_tokens")
    return usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0), cached
