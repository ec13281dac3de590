"""What the conversation has said so far: the user turns and earlier tool results.

Read lazily: most values appear verbatim, so case folding, normalizing, number,
date and word parsing are only paid for on a miss, once per sample and turn.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .dates import dates_in, times_in
from .numbers import (
    in_words,
    norm,
    number,
    numbers_in,
    si_numbers,
    time_spans,
    verbatim_number,
    worked_numbers,
)

_NOT_ALNUM = re.compile(r"[^\w]+")
_TOKEN = re.compile(r"[^\W_]+")
# words, numbers and clause ends of the user's text (where argument names stand)
USER_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+|[,;.!?\n]")


def alnum(text: str) -> str:
    """Only letters and digits matter: "St. Louis" = "st louis", "my_notes" = "my notes"."""
    return " ".join(_NOT_ALNUM.sub(" ", text.casefold()).replace("_", " ").split())


def stem(word: str) -> str:
    """A crude stem: enough for "disabled"/"disability" not, but "flights"/"flight" yes."""
    for suffix in ("ies", "es", "s", "ing", "ed"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def stems(text: str) -> set[str]:
    return {stem(w) for w in _TOKEN.findall(text.casefold())}


def _word_char(c: str) -> bool:
    """A letter or digit of a script that spaces its words (Thai, Lao, Khmer, Myanmar
    and CJK do not: there a value stands inside a run of letters)."""
    if not c.isalnum():
        return False
    o = ord(c)
    return not (0x0E00 <= o <= 0x0EFF or 0x1000 <= o <= 0x109F or 0x1780 <= o <= 0x17FF) and (
        o < 0x2E80
    )


def whole_words(hay: str, needle: str) -> bool:
    """``needle`` stands in ``hay`` as whole words: "Paris" is not in "comparisons", and
    "art" is not in "start" (a value made of part of the user's word is not theirs)."""
    i = hay.find(needle)
    if i < 0 or not needle:
        return i >= 0
    head, tail = _word_char(needle[0]), _word_char(needle[-1])
    n = len(needle)
    while i >= 0:
        if (not head or i == 0 or not _word_char(hay[i - 1])) and (
            not tail or i + n == len(hay) or not _word_char(hay[i + n])
        ):
            return True
        i = hay.find(needle, i + 1)
    return False


class Evidence:
    """The texts said so far; ``has`` is the verbatim test, ``get`` the parsed forms."""

    __slots__ = ("_cache", "raw", "tools", "user")

    def __init__(self) -> None:
        self.raw: list[str] = []
        self.user: list[str] = []  # the user turns only (where argument names stand)
        self.tools: list[str] = []  # the tool results only
        self._cache: dict[str, Any] = {}

    def add(self, text: str, role: str = "user") -> None:
        self.raw.append(text)
        if role == "user":
            self.user.append(text)
        else:
            self.tools.append(text)
        self._cache.clear()

    def get(self, what: str) -> Any:
        """A parsed form of the evidence: text, low, norm, alnum, numbers, words, worked,
        dates, times, spans (time spans), stems, user (casefolded user text)."""
        hit = self._cache.get(what)
        if hit is None:
            hit = self._cache[what] = _BUILD[what](self)
        return hit

    def has(self, value: Any) -> bool:
        """The value stands in the evidence as written (case, quotes and whitespace aside;
        numbers in digits with separators and suffixes, or single number words)."""
        if isinstance(value, str):
            if whole_words(self.get("text"), value) or whole_words(
                self.get("low"), value.casefold()
            ):
                return True
            if whole_words(self.get("norm"), norm(value)):
                return True
        if isinstance(value, int | float) and verbatim_number(self.get("text"), repr(value)):
            return True
        n = number(value)
        return n is not None and (n in self.get("numbers") or n in self.get("words"))


_BUILD: dict[str, Callable[[Evidence], Any]] = {
    "text": lambda e: "\n".join(e.raw),
    "low": lambda e: e.get("text").casefold(),
    "norm": lambda e: norm(e.get("text")),
    "alnum": lambda e: alnum(e.get("text")),
    "numbers": lambda e: numbers_in(e.get("low")),
    "words": lambda e: in_words(e.get("low")),
    "worked": lambda e: worked_numbers(e.get("low")) | si_numbers(e.get("text")),
    "dates": lambda e: dates_in(e.get("low")),
    "times": lambda e: times_in(e.get("low")),
    "spans": lambda e: time_spans(e.get("low")),
    "stems": lambda e: stems(e.get("text")),
    "user": lambda e: "\n".join(e.user).casefold(),
    "utokens": lambda e: [
        (m.start(), m.end(), m.group()) for m in USER_TOKEN.finditer(e.get("user"))
    ],
}
