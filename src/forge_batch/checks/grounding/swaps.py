"""Wrong values made of the user's own words, two at a time: swapped between arguments.

Two same-typed arguments whose values stand next to each other's names in the user's
words ("base of 10 and height of 5" with base=5, height=10; "from Boston to Denver"
with origin=Denver), or a range given in the wrong order (min > max, start after end).
What a rule cannot tell (no argument name next to either value) is left to the judge.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterator
from decimal import Decimal

from .evidence import USER_TOKEN, Evidence, alnum, stem
from .numbers import NUMBER_WORDS, number
from .tables import ALIASES
from .values import Leaf

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
_TOKEN = USER_TOKEN
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


@functools.lru_cache(maxsize=4096)
def _key_words(key: str) -> frozenset[str]:
    words = {stem(w) for w in alnum(_CAMEL.sub(" ", key)).split()}
    words = {w for w in words if w in _SYNONYMS or w not in _GENERIC}
    return frozenset(words | {s for w in words for s in _SYNONYMS.get(w, ())})


# Labels that stand before their value only ("from Boston", never "Boston from").
_BEFORE_ONLY = frozenset({"from", "to", "into", "since", "until", "till", "through", "as"})


def swapped(leaves: list[Leaf], ev: Evidence, tool: str) -> Iterator[tuple[Leaf, str, Leaf]]:
    """(leaf, the word next to it, the argument that word names) for values that stand
    next to another same-typed argument's name in the user's words. Words of the tool's
    name or of the enclosing argument ("delete_relations", "relations/0/from") name the
    whole call, not one argument."""
    groups: dict[tuple[str, bool], list[Leaf]] = {}
    for leaf in leaves:
        if not leaf.exempt and leaf.key:
            groups.setdefault((leaf.parent, isinstance(leaf.value, str)), []).append(leaf)
    for group in groups.values():
        keys = tuple(dict.fromkeys(leaf.key for leaf in group))
        if len(keys) < 2:
            continue
        parent = tuple(p for p in group[0].parent.split("/") if not p.isdigit())
        labels = _labels(tool, parent, keys)
        user = ev.get("user")
        if not any(w in user and _word_start(w, user) for w in labels):
            continue  # no argument's name is in the user's words: nothing to go by
        tokens = ev.get("utokens")
        forms = [_forms(leaf.value) for leaf in group]
        words = [{w for f in fs for w in _TOKEN.findall(f) if w not in _CLAUSE} for fs in forms]
        by_key = {leaf.key: leaf for leaf in group}
        for n, leaf in enumerate(group):
            others = set().union(*(w for m, w in enumerate(words) if group[m].key != leaf.key))
            found = _owner(forms[n], user, tokens, labels, others)
            if found and found[0] != leaf.key and found[0] in by_key:
                yield leaf, found[1], by_key[found[0]]


@functools.lru_cache(maxsize=4096)
def _labels(tool: str, parent: tuple[str, ...], keys: tuple[str, ...]) -> dict[str, str]:
    """word -> the one key of ``keys`` it names (words naming two keys name none)."""
    shared = _key_words(tool).union(*(_key_words(p) for p in parent))
    labels: dict[str, str] = {}
    for key in keys:
        for w in _key_words(key) - shared:
            labels[w] = key if labels.get(w, key) == key else ""
    return {w: k for w, k in labels.items() if k}


def _word_start(stem_: str, text: str) -> bool:
    """``stem_`` starts a word of ``text`` (a stem is a prefix of the words it stands for)."""
    i = text.find(stem_)
    while i >= 0:
        if i == 0 or not text[i - 1].isalnum():
            return True
        i = text.find(stem_, i + 1)
    return False


def _forms(value: str | int | float) -> list[str]:
    if isinstance(value, str):
        low = value.casefold().strip()
        head = low.split(",", 1)[0].strip()  # "dallas" of "Dallas, TX"
        return [low, *ALIASES.get(low, ()), *([head] if head and head != low else [])]
    if isinstance(value, float) and value.is_integer():
        return [repr(value), str(int(value))]
    return [repr(value)]


Token = tuple[int, int, str]


def _owner(
    forms: list[str], user: str, tokens: list[Token], labels: dict[str, str], others: set[str]
) -> tuple[str, str] | None:
    """(key, word) every whole-word occurrence of the value is labelled with, or None if
    one is unlabelled or they disagree."""
    found: set[tuple[str, str] | None] = set()
    for form in forms:
        i = user.find(form)
        while i >= 0:
            j = i + len(form)
            if (i == 0 or not user[i - 1].isalnum()) and (j >= len(user) or not user[j].isalnum()):
                found.add(_label_at(i, j, tokens, labels, others))
            i = user.find(form, i + 1)
    if len({f[0] if f else None for f in found}) != 1:
        return None
    return found.pop()


def _label_at(
    i: int, j: int, tokens: list[Token], labels: dict[str, str], others: set[str]
) -> tuple[str, str] | None:
    """The argument named next to the value at ``[i, j)``: the nearest label before it in
    its clause ("base of 10"), else a noun label right after it ("10 meters in length").
    Another value of the group, a number or the clause's end stops the search."""
    k = bisect.bisect_left(tokens, (i,))
    for p in range(k - 1, max(-1, k - 1 - _WINDOW), -1):
        word = tokens[p][2]
        if word in _CLAUSE or word in others:
            break
        owner = labels.get(stem(word))
        if owner:
            if word not in _BEFORE_ONLY and any(_numeric(t[2]) for t in tokens[max(0, p - 3) : p]):
                break  # "a 200,000 dollar loan at 5%": "loan" names the number before it
            return owner, word
    end = bisect.bisect_left(tokens, (j,))
    for q in range(end, min(end + 3, len(tokens))):
        word = tokens[q][2]
        if word in _CLAUSE or word in others or _numeric(word):
            break
        owner = labels.get(stem(word))
        if owner and word not in _BEFORE_ONLY:
            after = [t[2] for t in tokens[q + 1 : q + 3]]
            if any(w in others or _numeric(w) for w in after):
                break  # "bob@x.com with the subject 'Q3'": "subject" names what follows it
            return owner, word
    return None


def _numeric(word: str) -> bool:
    return word[:1].isdigit() or word in NUMBER_WORDS


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
            by_parent.setdefault(leaf.parent, {})[leaf.key] = leaf
    for keys in by_parent.values():
        if len(keys) < 2:
            continue
        for lo, hi in _range_pairs(tuple(keys)):
            if _after(keys[lo].value, keys[hi].value):
                yield keys[lo], keys[hi]


@functools.lru_cache(maxsize=4096)
def _range_pairs(keys: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """(low key, high key) pairs among ``keys``: min_x/max_x, start_date/end_date, ..."""
    names = {f" {alnum(_CAMEL.sub(' ', key))} ": key for key in keys}
    out = []
    for padded, key in names.items():
        for lo, hi in _PAIRS:
            if f" {lo} " in padded:
                other = names.get(padded.replace(f" {lo} ", f" {hi} ", 1))
                if other is not None:
                    out.append((key, other))
    return tuple(out)


def _after(a: str | int | float, b: str | int | float) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        if _ISO.match(a) and _ISO.match(b):
            return a > b
        return bool(_CLOCK.match(a) and _CLOCK.match(b)) and a.zfill(5) > b.zfill(5)
    x, y = number(a), number(b)
    return isinstance(x, Decimal) and isinstance(y, Decimal) and x > y
