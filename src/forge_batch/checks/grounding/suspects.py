"""Wrong values made of the user's own words, one value at a time (swaps.py: pairs).

*Cut short*: a string value that is a strict word-prefix of a longer span of the
user's words ("New" from "New York City"): a run of capitalized words, a quoted
string, a known multi-word place, or a longer name an earlier tool result gave.
*Unit mismatch*: a number the user said in one time unit, passed in another ("45
minutes" for ``seconds`` = 45). What a rule cannot tell is left to the judge.
"""

from __future__ import annotations

import re
from decimal import Decimal

import orjson

from .evidence import Evidence
from .numbers import SECONDS
from .tables import ALIASES, CITIES

_NEXT_CAP = re.compile(r"[ \t]+([A-Z][\w'’-]*(?:[ \t]+[A-Z][\w'’-]*)*)")
_QUOTES = {'"': '"', "'": "'", "\u201c": "\u201d", "\u2018": "\u2019", "`": "`"}
_NOT_NAMES = frozenset(
    [
        "i",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "today",
        "tomorrow",
        "tonight",
        "please",
        "thanks",
        "and",
        "or",
        "but",
        "with",
        "for",
        "to",
        "from",
        "at",
        "on",
        "in",
    ]
)
_PLACES = tuple(sorted({*CITIES, *(n for names in ALIASES.values() for n in names)}, key=len))
# word-prefixes of multi-word places ("new", "new york" of "new york city")
_PLACE_PREFIXES = frozenset(
    " ".join(words[:k])
    for name in _PLACES
    for words in [name.split()]
    for k in range(1, len(words))
)


def cut_short(value: str, ev: Evidence, others: set[str]) -> str | None:
    """The longer span ``value`` is a strict word-prefix of, when every whole-word
    occurrence of it in the evidence is such a prefix; else None."""
    text, low = ev.get("text"), ev.get("low")
    v = value.strip()
    if not v or not (v[0].isalpha() or v[0] in "/~.") or len(v) > 200 or len(low) != len(text):
        return None
    lv = v.casefold()
    spans = []
    i = low.find(lv)
    while i >= 0:
        j = i + len(lv)
        if (i == 0 or not low[i - 1].isalnum()) and (j >= len(low) or not low[j].isalnum()):
            span = _longer(text, low, i, j, others)
            if span is None:
                return None  # a complete occurrence: the value is what was said
            spans.append(span)
        i = low.find(lv, i + 1)
    return max(spans, key=len) if spans else None


def _longer(text: str, low: str, i: int, j: int, others: set[str]) -> str | None:
    """The span that continues past ``text[i:j]``, or None when the value ends there."""
    if "/" in text[i:j] and text[j : j + 1] == "/" and text[j + 1 : j + 2].isalnum():
        return text[i:].split(None, 1)[0]  # a folder of the path the user gave
    before = text[i - 1] if i else ""
    close = _QUOTES.get(before)
    if close is not None:
        end = text.find(close, i)
        line_end = text.find("\n", i)
        if end > j and (line_end < 0 or end < line_end):
            return text[i:end]
        if end == j:
            return None
    if text[i].isupper():
        m = _NEXT_CAP.match(text, j)
        if m is not None:
            nxt = m.group(1).split()[0].casefold()
            if nxt not in _NOT_NAMES and not any(o.startswith(nxt) for o in others):
                return text[i : m.end()]
    if low[i:j] not in _PLACE_PREFIXES:
        return None
    for name in _PLACES:
        if (
            len(name) > j - i
            and low.startswith(name, i)
            and name[j - i] == " "
            and not any(o and name.startswith(o) and len(o) > j - i for o in others)
        ):
            return text[i : i + len(name)]
    return None


# -- a number said in one time unit, passed in another -----------------------------------


def unit_mismatch(n: Decimal, unit: str, ev: Evidence) -> str | None:
    """What the user said when ``n`` (for an argument in ``unit``) was said only as a
    span in another unit ("45 minutes" for ``seconds`` = 45); else None."""
    spans = ev.get("spans")
    if any(amount * SECONDS[said] == n * SECONDS[unit] for amount, said in spans):
        return None
    for amount, said in spans:
        if amount == n and said != unit:
            return f"{amount} {said}s"
    return None


def cut_in_results(value: str, ev: Evidence) -> str | None:
    """A name cut short of a longer name an earlier tool result returned ("Dana" when
    the result names "Dana Whitfield"), when no result has the name as given."""
    results = ev.tools
    if not results or not value.strip():
        return None
    quoted, prefix = orjson.dumps(value).decode(), orjson.dumps(value + " ").decode()[:-1]
    longer = None
    for text in results:
        if quoted in text:
            return None
        i = text.find(prefix)
        if i >= 0 and longer is None:
            end = text.find('"', i + len(prefix))
            longer = text[i + 1 : end] if end > 0 else None
    return longer
