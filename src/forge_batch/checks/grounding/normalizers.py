"""Known normalizations that link a value to the user's words without being verbatim.

Each normalizer is ``(leaf, evidence) -> bool`` and is tried only after the verbatim
test missed; the first that holds makes the value *normalized*. They are narrow on
purpose: a wrong value must not slip through one of them (a wrong ISO date, a wrong
state, a wrong currency code are all *unsupported*).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from decimal import Decimal

from .dates import as_date_time, said_date, times_in
from .evidence import Evidence, alnum, stem
from .numbers import SECONDS, close, number, numbers_in, unit_of
from .tables import ALIASES, CITIES, ENUM_SYNONYMS, QUALIFIERS, STATES
from .values import Leaf

Normalizer = Callable[[Leaf, Evidence], bool]
_CODES_OF: dict[str, list[str]] = {}  # name -> the codes that stand for it
for _code, _names in ALIASES.items():
    for _name in _names:
        _CODES_OF.setdefault(_name, []).append(_code)
_SYNONYMS = {stem(k): frozenset(stem(w) for w in v) for k, v in ENUM_SYNONYMS.items()}

_TIME_ONLY = re.compile(r"^\d{1,2}:\d{2}(?::\d{2})?(?:\s*[ap]\.?m\.?)?$", re.IGNORECASE)
_MATH_CHARS = re.compile(r"[\^*/+=()]|\*\*|\d[a-z]")
_IMPLICIT = re.compile(r"(\d)\s*([a-z(])")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "for",
        "to",
        "in",
        "on",
        "at",
        "by",
        "with",
        "and",
        "or",
        "from",
        "is",
        "are",
        "be",
        "as",
        "my",
        "me",
        "i",
        "please",
    ]
)


def punctuation(leaf: Leaf, ev: Evidence) -> bool:
    """Only case, punctuation, separators or spaces differ: "st louis" for "St. Louis",
    "BA283" for "BA 283"."""
    if not isinstance(leaf.value, str):
        return False
    key = alnum(leaf.value)
    if key and _bounded_in(key, ev.get("alnum")):
        return True
    tight = key.replace(" ", "")  # codes only: letters and digits ("BA283", "A1 B2")
    if len(tight) < 4 or tight.isalpha() or tight.isdigit():
        return False
    return tight in ev.get("alnum").replace(" ", "")


def date_time(leaf: Leaf, ev: Evidence) -> bool:
    """An ISO (or other) date/time for a date the user wrote in another common form."""
    value = leaf.value
    if not isinstance(value, str) or not any(c.isdigit() for c in value):
        return False
    parsed = as_date_time(value)
    if parsed is None:
        if not _TIME_ONLY.match(value.strip()):
            return False
        return _clock(value) in ev.get("times")
    dates, clock = parsed
    if not said_date(dates, ev.get("dates")):
        return False
    return clock is None or clock in ev.get("times") or (clock == (0, 0) and not ev.get("times"))


def _clock(value: str) -> tuple[int, int] | None:
    """The (hour, minute) a time value writes: "15:30", "09:00:00", "3:30 PM"."""
    low = value.strip().casefold()
    if "m" in low:  # am / pm
        said = times_in(low)
        return min(said) if len(said) == 1 else None
    hour, minute = low.split(":")[:2]
    return int(hour), int(minute)


def worked_number(leaf: Leaf, ev: Evidence) -> bool:
    """A number the user wrote in words, notation or units, or rounded (6.2832 for 2 pi)."""
    n = number(leaf.value)
    if n is None:
        return False
    worked: set[Decimal] = ev.get("worked")
    if n in worked:
        return True
    return close(n, worked | ev.get("numbers"))


def target_unit(leaf: Leaf) -> str | None:
    """The time unit an argument is in, from its name or description ("seconds",
    "timeout_minutes", "duration in hours"), or None."""
    description = leaf.schema.get("description")
    return _unit_of_argument(leaf.key, description if isinstance(description, str) else "")


@functools.lru_cache(maxsize=4096)
def _unit_of_argument(key: str, description: str) -> str | None:
    words = alnum(_CAMEL.sub(" ", key)).split() + alnum(description).split()
    for word in words:
        unit = unit_of(word)
        if unit is not None:
            return unit
    return None


def time_span(leaf: Leaf, ev: Evidence) -> bool:
    """A time span the user gave in another unit, in the argument's unit ("2 hours" ->
    7200 for ``seconds``)."""
    n = number(leaf.value)
    unit = target_unit(leaf) if n is not None else None
    if n is None or unit is None:
        return False
    return any(amount * SECONDS[said] == n * SECONDS[unit] for amount, said in ev.get("spans"))


def code(leaf: Leaf, ev: Evidence) -> bool:
    """A standard code for something the user named ("USD" for "dollars", "AAPL" for
    "Apple", "fr" for "French"), or the name for a code the user wrote ("LAX")."""
    if not isinstance(leaf.value, str) or len(leaf.value) > 60:
        return False
    value = leaf.value.strip().casefold().replace(".", "")
    low = ev.get("low")
    names = ALIASES.get(value)
    if names and any(_said(name, low) for name in names):
        return True
    return _named_by_code(value, ev)


def _named_by_code(name: str, ev: Evidence) -> bool:
    """``name`` is what a code the user wrote stands for ("Los Angeles" for "LAX")."""
    codes = _CODES_OF.get(name)
    if not codes:
        return False
    text = ev.get("text")
    return any(re.search(rf"\b{re.escape(code_.upper())}\b", text) for code_ in codes)


def place(leaf: Leaf, ev: Evidence) -> bool:
    """A place the user named plus its standard qualifiers: "New York, NY",
    "Tel Aviv, Israel", "Los Angeles, CA" for "LAX"."""
    value = leaf.value
    if not isinstance(value, str) or "," not in value or len(value) > 80:
        return False
    head, *rest = (p.strip() for p in value.split(","))
    city = head.casefold()
    if not head or not (ev.has(head) or _named_by_code(city, ev) or _alias_of(city, ev)):
        return False
    allowed = CITIES.get(city)
    low = ev.get("low")
    for part in rest:
        q = part.casefold().replace(".", "")
        if not q:
            return False
        if ev.has(part) or (q in STATES and _said(STATES[q], low)):
            continue
        if allowed is not None:
            if q not in {a.replace(".", "") for a in allowed}:
                return False
        elif q not in QUALIFIERS:
            return False
    return True


def _alias_of(city: str, ev: Evidence) -> bool:
    """The user wrote a nickname of ``city`` ("NYC" for New York)."""
    return _named_by_code(city, ev)


def enum_words(leaf: Leaf, ev: Evidence) -> bool:
    """An enum label the user said in other words: the label whose words best match the
    user's words, and no other label matches as well ("disabled people" ->
    "Disabled Access")."""
    options = leaf.schema.get("enum")
    if not isinstance(leaf.value, str) or not isinstance(options, list):
        return False
    said = ev.get("stems")
    score = {o: _label_score(o, said) for o in options if isinstance(o, str)}
    mine = score.get(leaf.value, 0)
    return mine > 0 and all(s < mine for o, s in score.items() if o != leaf.value)


def _label_score(label: str, said: set[str]) -> int:
    words = [w for w in _words(label) if w not in _STOP]
    hits = 0
    for word in words:
        if (
            word in said
            or (len(word) >= 3 and any(s.startswith(word) for s in said))
            or not said.isdisjoint(_SYNONYMS.get(word, ()))
        ):
            hits += 1
    return hits


def _words(text: str) -> list[str]:
    return [stem(w) for w in alnum(_CAMEL.sub(" ", text)).split()]


def other_label(leaf: Leaf, ev: Evidence) -> str | None:
    """For an enum value: another label the user's words name (and not this one)."""
    options = leaf.schema.get("enum")
    if not isinstance(leaf.value, str) or not isinstance(options, list):
        return None
    said = ev.get("stems")
    score = {o: _label_score(o, said) for o in options if isinstance(o, str)}
    if score.get(leaf.value, 0):
        return None
    named = [o for o, s in score.items() if s]
    return named[0] if len(named) == 1 else None


def default_in_description(leaf: Leaf, ev: Evidence) -> bool:
    """The description states the default ("travel mode, default 'transit'"), and the
    user did not name another option instead."""
    description = leaf.schema.get("description")
    if not isinstance(description, str) or "default" not in description.casefold():
        return False
    low = description.casefold()
    if isinstance(leaf.value, str):
        found = bool(leaf.value) and _bounded_in(leaf.value.casefold(), low)
        return found and other_label(leaf, ev) is None
    n = number(leaf.value)
    return n is not None and n in numbers_in(low)


_ZERO = re.compile(
    r"\b(?:at rest|from rest|stationary|standstill|not moving|from zero|dropped|none|nothing"
    r"|empty)\b"
)
_ZERO_OF = re.compile(r"\b(?:no|without|zero|free)\s+(?:\w+\s+)?(\w+)")
_ONE_OF = re.compile(r"\b(?:a|an|one|single|once|each|per|a single)\s+(?:\w+\s+)?(\w+)")


_ALONE = re.compile(r"\b(?:just me|only me|myself|alone|solo|just one person|for one)\b")
_PEOPLE = frozenset(
    {"passenger", "guest", "people", "person", "traveler", "traveller", "adult", "seat", "ticket"}
)


def implied_zero_one(leaf: Leaf, ev: Evidence) -> bool:
    """0 or 1 implied by wording, for the argument it is about: "started from rest" ->
    initial velocity 0, "no pets" -> pets 0, "for a year" -> years 1."""
    n = number(leaf.value)
    if n not in (0, 1):
        return False
    about = set(_words(leaf.key)) | {
        w for w in _words(str(leaf.schema.get("description") or "")) if w not in _STOP
    }
    low = ev.get("low")
    if n == 0:
        if _ZERO.search(low) and about & {"velocity", "speed", "initial", "start", "count"}:
            return True
        return any(stem(m.group(1)) in about for m in _ZERO_OF.finditer(low))
    if about & _PEOPLE and _ALONE.search(low):
        return True
    return any(stem(m.group(1)) in about for m in _ONE_OF.finditer(low))


def maths(leaf: Leaf, ev: Evidence) -> bool:
    """An expression written as code: "x**2" for "x^2", "3*x + 2" for "3x+2"."""
    value = leaf.value
    if not isinstance(value, str) or not _MATH_CHARS.search(value.casefold()):
        return False
    return _canon_math(value) in _canon_math(ev.get("text"))


def _canon_math(text: str) -> str:
    low = text.casefold().replace("**", "^").replace("×", "*").replace("·", "*")
    low = low.replace("÷", "/").replace("−", "-")
    low = _IMPLICIT.sub(r"\1*\2", low)
    return "".join(low.split())


def path_join(leaf: Leaf, ev: Evidence) -> bool:
    """A path joined from a folder and a name the user (or a listing) gave."""
    value = leaf.value
    if not isinstance(value, str) or "/" not in value.strip("/"):
        return False
    folder, _, name = value.rstrip("/").rpartition("/")
    return bool(name) and ev.has(name) and (not folder or _whole_path(folder, ev.get("text")))


def _whole_path(folder: str, text: str) -> bool:
    """``folder`` stands in ``text`` as a whole path, not as the start of a longer one."""
    i = text.find(folder)
    while i >= 0:
        j = i + len(folder)
        if not (text[j : j + 1] == "/" and text[j + 1 : j + 2].isalnum()):
            return True
        i = text.find(folder, i + 1)
    return False


def user_words(leaf: Leaf, ev: Evidence) -> bool:
    """A phrase made of the user's words in another order or form ("Italian restaurants
    Paris" for "Italian restaurants in Paris"): every content word was said."""
    value = leaf.value
    if not isinstance(value, str) or " " not in value.strip() or any(c in value for c in "/\\@"):
        return False
    words = [w for w in _words(value) if w not in _STOP]
    return len(words) >= 2 and set(words) <= ev.get("stems")


def _said(name: str, low: str) -> bool:
    """``name`` stands in ``low`` as a whole word (symbols like "$" anywhere)."""
    if not name[:1].isalnum():
        return name in low
    return _bounded_in(name, low)


def _bounded_in(needle: str, hay: str) -> bool:
    i = hay.find(needle)
    while i >= 0:
        j = i + len(needle)
        if (i == 0 or not hay[i - 1].isalnum()) and (j >= len(hay) or not hay[j].isalnum()):
            return True
        i = hay.find(needle, i + 1)
    return False


# Tried in this order after the verbatim test misses.
NORMALIZERS: tuple[tuple[str, Normalizer], ...] = (
    ("punctuation", punctuation),
    ("date/time", date_time),
    ("number", worked_number),
    ("time span", time_span),
    ("code", code),
    ("place", place),
    ("enum label", enum_words),
    ("default in the description", default_in_description),
    ("0/1 implied", implied_zero_one),
    ("maths", maths),
    ("path", path_join),
    ("user's words", user_words),
)
