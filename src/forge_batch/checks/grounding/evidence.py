"""What the conversation has said so far, and the written forms a value may take in it:
case, quotes and whitespace do not matter; numbers match in digits, with separators,
suffixes (5k, 15%) and in words."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

_STRIP = re.compile("[\"'`\u201c\u201d\u2018\u2019\u00ab\u00bb\\\\]")
_DIGITS = re.compile(r"\d[\d,]*(?:\.\d+)?")
_GROUPED = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_PLAIN_NUMBER = re.compile(r"^-?(?:\d+(?:,\d{3})*(?:\.\d+)?|\.\d+)$")
_SUFFIX = re.compile(r"%|\s?(k|m|bn|thousand|million|billion)\b")
_SCALE = {
    "%": Decimal("0.01"),
    "k": Decimal(1000),
    "thousand": Decimal(1000),
    "m": Decimal(10**6),
    "million": Decimal(10**6),
    "bn": Decimal(10**9),
    "billion": Decimal(10**9),
}
_UNITS = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
)
_TENS = ("thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_NUMBER_WORDS = {w: Decimal(i) for i, w in enumerate(_UNITS)}
_NUMBER_WORDS.update({w: Decimal(10 * i) for i, w in enumerate(_TENS, 3)})
_NUMBER_WORDS.update({"hundred": Decimal(100), "dozen": Decimal(12)})
_NUMBER_WORD = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b")


def _norm(text: str) -> str:
    """Case, quotes, backslashes and runs of whitespace do not matter."""
    return " ".join(_STRIP.sub("", text.casefold()).split())


def numbers_in(text: str) -> set[Decimal]:
    """Every number the text writes in digits: 1,000 / 3.0 / -5 / .5 / 5k / 15%."""
    out: set[Decimal] = set()
    for m in _DIGITS.finditer(text):
        body, start = m.group().rstrip(","), m.start()
        parts = (
            [body.replace(",", "")]
            if "," not in body or _GROUPED.match(body)
            else [p for p in body.split(",") if p]
        )
        before = text[start - 1] if start else ""
        for part in parts:
            value = Decimal(part)
            out.add(value)
            if before and before in "-\u2212":  # "-5", or a hyphen as in 2024-01-05: both
                out.add(-value)
            if before == "." and "." not in part:
                out.add(Decimal("0." + part))
        suffix = _SUFFIX.match(text, m.end())
        if suffix and len(parts) == 1:
            out.add(Decimal(parts[0]) * _SCALE[suffix.group(1) or "%"])
    return out


def _number(value: Any) -> Decimal | None:
    if isinstance(value, str):
        value = value.strip()
        if not _PLAIN_NUMBER.match(value):
            return None
        value = value.replace(",", "")
    try:
        return Decimal(repr(value) if isinstance(value, float) else value)
    except (InvalidOperation, ValueError, TypeError):
        return None


def _verbatim_number(text: str, digits: str) -> bool:
    """``digits`` stands in ``text`` as a whole number (not inside 2024 or 3.05)."""
    i = text.find(digits)
    while i >= 0:
        j = i + len(digits)
        before = text[i - 1] if i else " "
        after = text[j : j + 2]
        if not (before.isdigit() or before in ".,") and not (
            after[:1].isdigit() or (after[:1] in ".," and after[1:2].isdigit())
        ):
            return True
        i = text.find(digits, i + 1)
    return False


class Evidence:
    """What the conversation has said so far (user turns, tool results), read lazily:
    most values appear verbatim, so case folding, normalizing and number parsing are
    only paid for on a miss."""

    __slots__ = ("_cache", "raw")

    def __init__(self) -> None:
        self.raw: list[str] = []
        self._cache: dict[str, Any] = {}

    def add(self, text: str) -> None:
        self.raw.append(text)
        self._cache.clear()

    def _get(self, what: str) -> Any:
        if what not in self._cache:
            text = self._cache.get("text") or "\n".join(self.raw)
            self._cache["text"] = text
            if what == "low":
                self._cache[what] = text.casefold()
            elif what == "norm":
                self._cache[what] = _norm(text)
            elif what == "numbers":
                self._cache[what] = numbers_in(self._get("low"))
            elif what == "words":
                self._cache[what] = {
                    _NUMBER_WORDS[w] for w in _NUMBER_WORD.findall(self._get("low"))
                }
        return self._cache[what]

    def has(self, value: Any) -> bool:
        if isinstance(value, str):
            if value in self._get("text") or value.casefold() in self._get("low"):
                return True
            if _norm(value) in self._get("norm"):
                return True
        if isinstance(value, int | float) and _verbatim_number(self._get("text"), repr(value)):
            return True
        number = _number(value)
        return number is not None and (
            number in self._get("numbers") or number in self._get("words")
        )
