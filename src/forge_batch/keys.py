"""Request keys: the content address of a request. This format is a contract.

    key = "fb1:" + sha256(canonical JSON of the request body).hexdigest()[:60]

* canonical JSON: keys sorted, no whitespace, UTF-8 (non-ASCII not escaped),
  as ``orjson.dumps(body, option=OPT_SORT_KEYS)`` writes it;
* the body is the whole ``/v1/chat/completions`` body: model, messages,
  response_format, temperature, seed, token limit. Everything that changes the
  answer is in it, nothing else is;
* the key is the cache key and the Batch ``custom_id``, which OpenAI limits to
  64 characters: the tag (4) plus 60 hex digits (240 bits of sha256).

Changing any of this means a new tag ("fb2:"), never a silent change: every
cached response is addressed by it. ``tests/test_keys.py`` pins fixed values.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import orjson

TAG = "fb1:"
HEX_DIGITS = 60
KEY_LENGTH = len(TAG) + HEX_DIGITS


def canonical(body: Any) -> bytes:
    """Canonical JSON bytes of a request body."""
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


def key_of(canonical_bytes: bytes) -> str:
    """Key of already canonical bytes (saves a second serialization)."""
    return TAG + hashlib.sha256(canonical_bytes).hexdigest()[:HEX_DIGITS]


def request_key(body: Any) -> str:
    """Key of a request body."""
    return key_of(canonical(body))


def is_key(value: Any) -> bool:
    """True for a well-formed key of the current version."""
    if not isinstance(value, str) or len(value) != KEY_LENGTH or not value.startswith(TAG):
        return False
    try:
        int(value[len(TAG) :], 16)
    except ValueError:
        return False
    return value[len(TAG) :].islower() or value[len(TAG) :].isdigit()


_RUN = re.compile(rf"(?:{re.escape(TAG)}[0-9a-f]{{{HEX_DIGITS}}})*")


def split_run(text: str) -> list[str] | None:
    """Keys written back to back (fixed width, no separator), or None if any is malformed."""
    if not _RUN.fullmatch(text):
        return None
    return [text[i : i + KEY_LENGTH] for i in range(0, len(text), KEY_LENGTH)]


def short(key: str) -> str:
    """16 hex digits: enough to name a sample, short enough to read."""
    return key[len(TAG) : len(TAG) + 16]


def fingerprint64(key: str) -> int:
    """First 64 bits of a key, for compact in-memory membership sets."""
    return int(key[len(TAG) : len(TAG) + 16], 16)
