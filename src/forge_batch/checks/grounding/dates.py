"""Dates and times in the common written forms, read into comparable tuples.

A value in ISO form ("2022-03-11", "2022-03-11T15:00:00Z", "15:30") is normalized
when the user wrote the same date or time in any common form: "March 11, 2022",
"11 March 2022", "May 3rd 2022", "3/11/2022" (both day-month orders are kept when
ambiguous), "2022/03/11", "3pm", "3:30 PM", "15:00", "noon". A date written without a
year matches any year (the model had to supply one).
"""

from __future__ import annotations

import datetime as dt
import re

Date = tuple[int | None, int, int | None]  # year (None: not said), month, day (None: whole month)
Time = tuple[int, int]

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8,
    "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
for _i, _name in enumerate(
    (
        "january", "february", "march", "april", "may", "june", "july", "august",
        "september", "october", "november", "december",
    ),
    1,
):  # fmt: skip
    _MONTHS[_name] = _i
_MONTH = r"(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_ORD = r"(?:st|nd|rd|th)?"
_PATTERNS = (
    ("ymd", re.compile(r"\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")),
    ("num", re.compile(r"\b(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})\b")),
    ("mdy", re.compile(r"\b" + _MONTH + r"\s+(\d{1,2})" + _ORD + r"\b(?:,?\s+(\d{4})\b)?")),
    ("dmy", re.compile(r"\b(\d{1,2})" + _ORD + r"\s+(?:of\s+)?" + _MONTH + r"(?:,?\s+(\d{4})\b)?")),
    ("my", re.compile(r"\b" + _MONTH + r",?\s+(\d{4})\b")),
    ("ym", re.compile(r"\b(\d{4})-(\d{2})\b(?!-\d)")),
)
_CLOCK = re.compile(r"\b(\d{1,2})(?::(\d{2}))?(?::\d{2})?\s*(a\.?m\.?|p\.?m\.?)(?![a-z])")
_HHMM = re.compile(r"(?<![\d:])(\d{1,2}):(\d{2})(?::\d{2}(?:\.\d+)?)?(?![\d:])")
_OCLOCK = re.compile(r"\b(\d{1,2})\s*o'?clock\b")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?)?")


def dates_in(low: str) -> set[Date]:
    """Every date the casefolded text writes, in any of the common forms."""
    out: set[Date] = set()
    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(low):
            g = m.groups()
            if kind == "ymd":
                _add(out, int(g[0]), int(g[1]), int(g[2]))
            elif kind == "num":
                year = int(g[2]) + (2000 if len(g[2]) == 2 else 0)
                _add(out, year, int(g[0]), int(g[1]))  # US month/day
                _add(out, year, int(g[1]), int(g[0]))  # day/month
            elif kind == "mdy":
                _add(out, int(g[2]) if g[2] else None, _MONTHS[g[0]], int(g[1]))
            elif kind == "dmy":
                _add(out, int(g[2]) if g[2] else None, _MONTHS[g[1]], int(g[0]))
            elif kind == "my":
                out.add((int(g[1]), _MONTHS[g[0]], None))
            elif 1 <= int(g[1]) <= 12:
                out.add((int(g[0]), int(g[1]), None))
    return out


def _add(out: set[Date], year: int | None, month: int, day: int) -> None:
    try:
        dt.date(year or 2000, month, day)  # 2000: a leap year, so Feb 29 stays valid
    except ValueError:
        return
    out.add((year, month, day))


def times_in(low: str) -> set[Time]:
    """Every clock time the casefolded text writes (3pm, 3:30 p.m., 15:00, noon)."""
    out: set[Time] = set()
    for m in _CLOCK.finditer(low):
        hour, minute = int(m.group(1)), int(m.group(2) or 0)
        if 1 <= hour <= 12 and minute < 60:
            out.add(((hour % 12) + (12 if m.group(3).startswith("p") else 0), minute))
    for m in _HHMM.finditer(low):
        hour, minute = int(m.group(1)), int(m.group(2))
        if hour < 24 and minute < 60:
            out.add((hour, minute))
            if hour < 12:
                out.add((hour + 12, minute))  # "meet at 3:30" in the afternoon
    for m in _OCLOCK.finditer(low):
        hour = int(m.group(1))
        if 1 <= hour <= 12:
            out.update({(hour % 12, 0), (hour % 12 + 12, 0)})
    if "noon" in low or "midday" in low:
        out.add((12, 0))
    if "midnight" in low:
        out.add((0, 0))
    return out


def as_date_time(value: str) -> tuple[set[Date], Time | None] | None:
    """The date(s) and time a string value writes, or None when it writes no date.

    An ISO value gives one date; another written form may give two (3/4/2022)."""
    m = _ISO_DATE.match(value)
    if m:
        year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
        clock = (int(m.group(4)), int(m.group(5))) if m.group(4) else None
        return {(year, month, day)}, clock
    found = dates_in(value.casefold())
    if not found:
        return None
    times = times_in(value.casefold())
    return found, (min(times) if len(times) == 1 else None)


def said_date(dates: set[Date], said: set[Date]) -> bool:
    """One of ``dates`` is a date the user wrote (a date written without a year
    matches any year)."""
    for year, month, day in dates:
        if (year, month, day) in said or (None, month, day) in said:
            return True
    return False
