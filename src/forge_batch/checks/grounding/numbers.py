"""Numbers in the forms people write them, and the written forms of a string.

``numbers_in`` reads digits (1,000 / 3.0 / -5 / .5 / 5k / 15%); ``worked_numbers``
adds what a reader works out without outside facts: numbers in words ("two dozen",
"twenty-five"), scientific notation ("1e-9", "1.5 x 10^-3"), SI prefixes and units
("50mH" -> 0.05, "3 km" -> 3000), time units (2 hours -> 120 minutes), multiples of pi.
"""

from __future__ import annotations

import contextlib
import math
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
NUMBER_WORDS = {w: Decimal(i) for i, w in enumerate(_UNITS)}
NUMBER_WORDS.update({w: Decimal(10 * i) for i, w in enumerate(_TENS, 3)})
NUMBER_WORDS.update({"hundred": Decimal(100), "dozen": Decimal(12)})


def norm(text: str) -> str:
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


def number(value: Any) -> Decimal | None:
    if isinstance(value, str):
        value = value.strip()
        if not _PLAIN_NUMBER.match(value):
            return None
        value = value.replace(",", "")
    try:
        return Decimal(repr(value) if isinstance(value, float) else value)
    except (InvalidOperation, ValueError, TypeError):
        return None


def verbatim_number(text: str, digits: str) -> bool:
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


# -- worked out: numbers in words, notation, units ------------------------------------

_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
    "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10, "twelfth": 12, "twentieth": 20,
}  # fmt: skip
_SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}
_PHRASES = (
    ("and a half", "and half"),
    ("half a dozen", "six"),
    ("a single", "one"),
    ("a couple of", "two"),
    ("a pair of", "two"),
)
_FRACTIONS = {"half": Decimal("0.5"), "quarter": Decimal("0.25")}
_WORD = re.compile(r"[a-z]+|\d+(?:\.\d+)?")
_SCI = re.compile(
    r"(-?\d+(?:\.\d+)?)\s*(?:e\s*([-+]?\d+)|(?:x|\*|×|·)\s*10\s*(?:\^|\*\*)\s*\(?([-+−]?\d+)\)?)"
)
_SI = {
    "p": Decimal("1e-12"), "n": Decimal("1e-9"), "u": Decimal("1e-6"), "µ": Decimal("1e-6"),
    "μ": Decimal("1e-6"), "m": Decimal("1e-3"), "c": Decimal("1e-2"), "k": Decimal(10**3),
    "M": Decimal(10**6), "G": Decimal(10**9), "T": Decimal(10**12),
}  # fmt: skip
_SI_UNIT = re.compile(
    r"(-?\d+(?:\.\d+)?)\s?(p|n|u|µ|μ|m|c|k|M|G|T)(H|F|A|V|W|Hz|g|m|s|J|N|Pa|Ω|L|l|B|b|eV|ohms?)\b"
)
_SI_WORDS = {
    "pico": Decimal("1e-12"), "nano": Decimal("1e-9"), "micro": Decimal("1e-6"),
    "milli": Decimal("1e-3"), "centi": Decimal("1e-2"), "kilo": Decimal(10**3),
    "mega": Decimal(10**6), "giga": Decimal(10**9),
}  # fmt: skip
_SI_WORD = re.compile(r"(-?\d+(?:\.\d+)?)\s?(pico|nano|micro|milli|centi|kilo|mega|giga)[a-z]+")
_PI = re.compile(r"(\d+(?:\.\d+)?)?\s*\*?\s*(?:pi|π)(?:\s*/\s*(\d+))?(?![a-z])")
_PER_YEAR = {"annually": 1, "yearly": 1, "semiannually": 2, "semi-annually": 2, "quarterly": 4,
             "monthly": 12, "biweekly": 26, "weekly": 52, "daily": 365}  # fmt: skip
_AND_A_HALF = re.compile(r"(\d+) and a half\b")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s?(?:percent|per cent|pct)\b")


def worked_numbers(low: str) -> set[Decimal]:
    """Numbers the casefolded ``low`` states in other forms than plain digits."""
    out: set[Decimal] = set()
    for m in _SCI.finditer(low):
        exp = m.group(2) or (m.group(3) or "").replace("−", "-")
        with contextlib.suppress(InvalidOperation, ValueError):
            out.add(Decimal(m.group(1)) * Decimal(10) ** int(exp))
    for m in _SI_WORD.finditer(low):
        out.add(Decimal(m.group(1)) * _SI_WORDS[m.group(2)])
    for m in _PI.finditer(low):
        k = float(m.group(1)) if m.group(1) else 1.0
        out.add(Decimal(repr(k * math.pi / (int(m.group(2)) if m.group(2) else 1))))
    for word, per_year in _PER_YEAR.items():
        if word in low:
            out.add(Decimal(per_year))
    for m in _AND_A_HALF.finditer(low):
        out.add(Decimal(m.group(1)) + Decimal("0.5"))
    for m in _PERCENT.finditer(low):
        out.add(Decimal(m.group(1)) / 100)
    return out


def si_numbers(text: str) -> set[Decimal]:
    """SI-prefixed quantities read case-sensitively ("5MW" is mega, "5mW" milli)."""
    return {Decimal(m.group(1)) * _SI[m.group(2)] for m in _SI_UNIT.finditer(text)}


def in_words(low: str) -> set[Decimal]:
    """Numbers written in words: "twenty-five", "two hundred and ten", "a dozen",
    "three thousand", "one and a half", ordinals ("the third")."""
    out: set[Decimal] = set()
    total, current, seen, last = Decimal(0), Decimal(0), False, ""
    for phrase, said in _PHRASES:
        low = low.replace(phrase, said)
    tokens = _WORD.findall(low.replace("-", " "))
    for i, word in enumerate([*tokens, ""]):
        value = NUMBER_WORDS.get(word)
        if value is not None and word not in ("hundred", "dozen"):
            current, seen = current + value, True
        elif word in ("hundred", "dozen"):
            base = current if seen else (Decimal(1) if last in ("a", "one", "") else Decimal(0))
            current, seen = (base or Decimal(1)) * (100 if word == "hundred" else 12), True
        elif word in _SCALES and (seen or last == "a"):
            total, current, seen = total + (current or 1) * _SCALES[word], Decimal(0), True
        elif word == "and" and seen and i + 1 < len(tokens) and _numeric(tokens[i + 1]):
            pass
        elif word in _FRACTIONS and last in ("a", "and", "one", ""):
            current, seen = current + _FRACTIONS[word], True
        elif word in _ORDINALS:
            out.add(Decimal(_ORDINALS[word]))
        else:
            if seen:
                out.add(total + current)
            total, current, seen = Decimal(0), Decimal(0), False
        last = word
    return out


def close(value: Decimal, candidates: set[Decimal]) -> bool:
    """``value`` is one of ``candidates`` rounded to the value's own decimal places
    (6.2832 for 2 pi), for values written with at least two decimals."""
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int) or exponent > -2:
        return False
    step = Decimal(1).scaleb(exponent)
    return any(abs(c - value) <= step / 2 for c in candidates)


def _numeric(word: str) -> bool:
    return word in NUMBER_WORDS or word in _FRACTIONS


# -- time spans -------------------------------------------------------------------------

SECONDS = {
    "second": 1, "sec": 1, "minute": 60, "min": 60, "hour": 3600, "hr": 3600,
    "day": 86400, "week": 604800, "month": 2628000, "year": 31536000,  # month: 1/12 year
}  # fmt: skip
_UNIT_WORD = re.compile(r"\b(" + "|".join(SECONDS) + r")s?\b")
_AMOUNT_WORD = re.compile(r"(?:\d+(?:\.\d+)?|[a-z]+)$")


def unit_of(word: str) -> str | None:
    """The time unit a word names ("seconds" -> "second", "hrs" -> "hour"), or None."""
    word = word.casefold()
    for w in (word, word[:-1] if word.endswith("s") else word):
        if w in SECONDS:
            return {"sec": "second", "min": "minute", "hr": "hour"}.get(w, w)
    return None


def time_spans(low: str) -> list[tuple[Decimal, str]]:
    """(amount, unit) of every time span the casefolded text writes: "2 hours",
    "ninety seconds", "1.5 hrs", "a day", "half an hour"."""
    out = []
    for m in _UNIT_WORD.finditer(low):
        unit = unit_of(m.group(1))
        before = low[max(0, m.start() - 40) : m.start()].split()
        words: list[str] = []
        while before and (
            before[-1] in ("a", "an", "and", "half")
            or before[-1] in NUMBER_WORDS
            or (_AMOUNT_WORD.fullmatch(before[-1]) and before[-1][0].isdigit())
        ):
            words.insert(0, before.pop())
        if not words or unit is None:
            continue
        if words[-1][0].isdigit():
            out.append((Decimal(words[-1]), unit))
            continue
        if words[0][0].isdigit() and words[1:] == ["and", "a", "half"]:
            out.append((Decimal(words[0]) + Decimal("0.5"), unit))
            continue
        said = " ".join(words)
        amounts = in_words(said) or ({Decimal(1)} if words[-1] in ("a", "an") else set())
        out.extend((amount, unit) for amount in amounts)
    return out
