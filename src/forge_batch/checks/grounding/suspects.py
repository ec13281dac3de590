"""Wrong values made of the user's own words: cut short, or swapped between arguments.

*Cut short*: a string value that is a strict word-prefix of a longer span of the
user's words ("New" from "New York City"): a run of capitalized words, a quoted
string, or a known multi-word place. *Swapped*: two same-typed arguments whose values
stand next to each other's names in the user's words ("base of 10 and height of 5"
with base=5, height=10), or a range given in the wrong order (min > max, start after
end). What a rule cannot tell is left to the judge.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

from .evidence import Evidence, alnum, stem
from .numbers import number
from .tables import ALIASES, CITIES
from .values import Leaf

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
    for name in _PLACES:
        if (
            len(name) > j - i
            and low.startswith(name, i)
            and name[j - i] == " "
            and not any(o and name.startswith(o) and len(o) > j - i for o in others)
        ):
            return text[i : i + len(name)]
    return None


# -- swapped values ---------------------------------------------------------------------

_SYNONYMS: dict[str, tuple[str, ...]] = {
    "start": ("from", "begin", "beginning", "starting", "since"),
    "end": ("to", "until", "till", "ending", "through"),
    "origin": ("from", "departing", "leaving"),
    "source": ("from",),
    "destination": ("to", "arriving", "going", "into"),
    "target": ("to", "into"),
    "from": ("from",),
    "to": ("to", "into"),
    "departure": ("departing", "leaving", "from"),
    "arrival": ("arriving", "to"),
    "min": ("minimum", "least", "above"),
    "max": ("maximum", "most", "under", "below"),
    "height": ("high", "tall"),
    "width": ("wide",),
    "length": ("long",),
    "depth": ("deep",),
    "principal": ("loan", "borrow"),
    "numerator": ("divide",),
    "old": ("rename", "current"),
    "new": ("as",),
}
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+|[,;.!?\n]")
_CLAUSE = frozenset(",;.!?\n")
_GENERIC = frozenset(
    [
        "the",
        "of",
        "a",
        "an",
        "to",
        "in",
        "for",
        "and",
        "or",
        "is",
        "value",
        "number",
        "name",
        "type",
        "string",
        "which",
        "this",
        "that",
    ]
)
_WINDOW = 4  # words looked back from a value for the name of its argument


def _key_words(key: str) -> set[str]:
    words = {stem(w) for w in alnum(_CAMEL.sub(" ", key)).split()} - _GENERIC
    return words | {s for w in words for s in _SYNONYMS.get(w, ())}


def swapped(leaves: list[Leaf], ev: Evidence) -> Iterator[tuple[Leaf, str, Leaf]]:
    """(leaf, the word next to it, the argument that word names) for values that stand
    next to another same-typed argument's name in the user's words."""
    groups: dict[tuple[str, bool], list[Leaf]] = {}
    for leaf in leaves:
        if not leaf.exempt and leaf.key:
            groups.setdefault((leaf.parent, isinstance(leaf.value, str)), []).append(leaf)
    user = None
    for group in groups.values():
        if len({leaf.key for leaf in group}) < 2:
            continue
        words = {leaf.key: _key_words(leaf.key) for leaf in group}
        labels: dict[str, str] = {}  # word -> the only key it names
        for key, ws in words.items():
            for w in ws:
                labels[w] = key if labels.get(w, key) == key else ""
        labels = {w: k for w, k in labels.items() if k}
        if not labels:
            continue
        if user is None:
            user = ev.get("user")
            tokens = [(m.start(), m.group()) for m in _TOKEN.finditer(user)]
        by_key = {leaf.key: leaf for leaf in group}
        for leaf in group:
            owner = _nearest_label(_forms(leaf.value), user, tokens, labels)
            if owner and owner != leaf.key and owner in by_key:
                yield leaf, next(w for w, k in labels.items() if k == owner), by_key[owner]


def _forms(value: str | int | float) -> list[str]:
    if isinstance(value, str):
        low = value.casefold().strip()
        return [low, *ALIASES.get(low, ())] if low else []
    if isinstance(value, float) and value.is_integer():
        return [repr(value), str(int(value))]
    return [repr(value)]


def _nearest_label(
    forms: list[str], user: str, tokens: list[tuple[int, str]], labels: dict[str, str]
) -> str | None:
    """The key every whole-word occurrence of the value is labelled with (the nearest
    argument word before it, within its clause), or None if any is unlabelled or they
    disagree."""
    owners = set()
    for form in forms:
        i = user.find(form)
        while i >= 0:
            j = i + len(form)
            if (i == 0 or not user[i - 1].isalnum()) and (j >= len(user) or not user[j].isalnum()):
                owners.add(_label_before(i, tokens, labels))
            i = user.find(form, i + 1)
    return owners.pop() if len(owners) == 1 else None


def _label_before(pos: int, tokens: list[tuple[int, str]], labels: dict[str, str]) -> str | None:
    k = next((n for n, (start, _) in enumerate(tokens) if start >= pos), len(tokens))
    for _start, word in reversed(tokens[max(0, k - _WINDOW) : k]):
        if word in _CLAUSE:
            return None
        owner = labels.get(stem(word))
        if owner:
            return owner
    return None


# -- ranges in the wrong order -----------------------------------------------------------

_PAIRS = (
    ("min", "max"),
    ("minimum", "maximum"),
    ("start", "end"),
    ("begin", "end"),
    ("from", "to"),
    ("lower", "upper"),
    ("low", "high"),
    ("earliest", "latest"),
    ("check in", "check out"),
    ("departure", "return"),
    ("first", "last"),
)
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}")
_CLOCK = re.compile(r"^\d{1,2}:\d{2}(?::\d{2})?$")


def reversed_ranges(leaves: list[Leaf]) -> Iterator[tuple[Leaf, Leaf]]:
    """(low end, high end) of argument pairs like min_price/max_price or start/end dates
    whose values are in the wrong order."""
    by_parent: dict[str, dict[str, Leaf]] = {}
    for leaf in leaves:
        if leaf.key and not leaf.exempt:
            by_parent.setdefault(leaf.parent, {})[alnum(_CAMEL.sub(" ", leaf.key))] = leaf
    for keys in by_parent.values():
        if len(keys) < 2:
            continue
        for name, leaf in keys.items():
            for lo, hi in _PAIRS:
                padded = f" {name} "
                if f" {lo} " not in padded:
                    continue
                other = keys.get(padded.replace(f" {lo} ", f" {hi} ", 1).strip())
                if other is not None and _after(leaf.value, other.value):
                    yield leaf, other


def _after(a: str | int | float, b: str | int | float) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        if _ISO.match(a) and _ISO.match(b):
            return a > b
        return bool(_CLOCK.match(a) and _CLOCK.match(b)) and a.zfill(5) > b.zfill(5)
    x, y = number(a), number(b)
    return isinstance(x, Decimal) and isinstance(y, Decimal) and x > y
