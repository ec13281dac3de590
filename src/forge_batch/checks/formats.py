"""Format checkers for the schema check: jsonschema's own plus RFC 3339 date-time,
time and uri, whose stock checkers need optional packages this project does not install."""

from __future__ import annotations

import re

import jsonschema

_OFFSET = r"(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})"
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}" + _OFFSET)
_TIME = re.compile(r"\d{2}:\d{2}:\d{2}" + _OFFSET)
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S*")


def format_checker() -> jsonschema.FormatChecker:
    """jsonschema's checkers plus RFC 3339 date-time/time and uri, whose stock checkers
    need optional packages this project does not install."""
    import datetime as dt

    stock = jsonschema.Draft202012Validator.FORMAT_CHECKER.checkers  # not draft 3's "time"
    checker = jsonschema.FormatChecker(formats=list(stock))

    def date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        if not _DATE_TIME.fullmatch(value):
            return False
        try:
            dt.datetime.fromisoformat(value.upper())
        except ValueError:
            return False
        return True

    def time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        if not _TIME.fullmatch(value):
            return False
        try:
            dt.time.fromisoformat(value[:8])
        except ValueError:
            return False
        return True

    def uri(value: object) -> bool:
        return not isinstance(value, str) or bool(_URI.fullmatch(value))

    for name, fn in (("date-time", date_time), ("time", time), ("uri", uri)):
        if name not in checker.checkers:
            checker.checks(name)(fn)
    return checker
