"""Base85 (RFC 1924 alphabet) as ``base64.b85encode`` / ``b85decode`` write and read it,
vectorized with numpy.

Judge specs carry their sample zlib-compressed in base85 (``stages/judge.py``), and
the standard library's codec is a Python loop over 4-byte words: ~85 us to encode
and ~180 us to decode a 1.8 KB spec, which made it the largest single cost of the
build's judge and paraphrase passes (bench/collect.py). These give the same bytes
(``tests/test_b85.py`` holds them to the standard library's, errors included) in a
handful of array operations.
"""

from __future__ import annotations

import numpy as np

ALPHABET = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~"
_CHARS = np.frombuffer(ALPHABET, dtype=np.uint8)
_BAD = 255
_DIGITS = np.full(256, _BAD, dtype=np.uint8)
_DIGITS[_CHARS] = np.arange(85, dtype=np.uint8)


def encode(data: bytes) -> bytes:
    """``base64.b85encode(data)`` (no padding)."""
    if not data:
        return b""
    padding = -len(data) % 4
    words = np.frombuffer(data + b"\0" * padding, dtype=">u4").astype(np.uint32)
    digits = np.empty((len(words), 5), dtype=np.uint8)
    for i in range(4, -1, -1):
        digits[:, i] = words % 85
        words //= 85
    out = _CHARS[digits].tobytes()
    return out[: len(out) - padding]


def decode(text: str | bytes) -> bytes:
    """``base64.b85decode(text)``; ValueError on a character outside the alphabet or a
    5-character group over 2**32 - 1, as the standard library."""
    if isinstance(text, str):
        try:
            text = text.encode("ascii")
        except UnicodeEncodeError:
            raise ValueError("string argument should contain only ASCII characters") from None
    if not text:
        return b""
    padding = -len(text) % 5
    chars = np.frombuffer(text + b"~" * padding, dtype=np.uint8)
    values = _DIGITS[chars]
    if (values == _BAD).any():
        at = int(np.flatnonzero(values == _BAD)[0])
        raise ValueError(f"bad base85 character at position {at}")
    groups = values.reshape(-1, 5).astype(np.uint64)
    acc = groups[:, 0]
    for i in range(1, 5):
        acc = acc * 85 + groups[:, i]
    if (acc > 0xFFFFFFFF).any():
        at = int(np.flatnonzero(acc > 0xFFFFFFFF)[0]) * 5
        raise ValueError(f"base85 overflow in hunk starting at byte {at}")
    out = acc.astype(">u4").tobytes()
    return out[: len(out) - padding]
