"""The hygiene check: texts a trainer should never see (empty, cut off, refusals,
garbage). Conservative on purpose: odd values are legitimate in the edge scenario."""

from __future__ import annotations

import itertools
import re
from collections import Counter

import orjson

from ..records import Sample
from .context import CheckContext, message_text

_TEMPLATE_TOKEN = re.compile(r"<\|[a-z_]{2,20}\|>|</?tool_call>|</?tool_response>")
_REFUSAL = re.compile(
    r"\bas an ai (?:language )?model\b"
    r"|\bi (?:can't|cannot|can not|won't|am unable to|'m unable to|am not able to|'m not able to)"
    r" (?:help|assist)(?: you)? with (?:that|this|your request|this request|that request)"
    r"(?:\s*[.!]|\s*$)"
    r"|\bi (?:can't|cannot|won't) comply\b|\bi must decline\b"
)
_REFUSAL_HINTS = ("as an ai", "help with", "assist with", "assist you with", "comply", "decline")
_TAG = re.compile(r"<[^<>\n]{1,200}>")
_LETTERS = re.compile(r"[^\W\d_]+")
_BAD_CATEGORIES = frozenset({"Cc", "Cs", "Co", "Cn"})


def check_hygiene(sample: Sample, ctx: CheckContext) -> str | None:
    """Texts a trainer should never see: empty, cut off, refusals, garbage."""
    finish = sample.meta.get("finish_reason") if isinstance(sample.meta, dict) else None
    if finish in ("length", "content_filter"):
        return f"finish_reason {finish}"
    for i, m in enumerate(sample.messages):
        role = m.get("role")
        if role != "user" and role != "assistant":
            continue
        text = message_text(m.get("content"))
        is_answer = role == "assistant" and not m.get("tool_calls")
        if role == "user" or is_answer:
            size = len(text.strip())
            if not size:
                return f"message {i}: empty {role} text"
            if size < ctx.min_text_chars:
                return f"message {i}: {role} text shorter than {ctx.min_text_chars} characters"
        if not text:
            continue
        problem = garbage(text)
        if problem is None and is_answer:
            problem = identifier_only(text) or refusal(text) or fragment(text)
        if problem:
            return f"message {i} ({role}): {problem}"
    return None


# An ISO date whose "T" is not followed by a clock time ("2019-10-30T:54:68"), and
# an all-caps control marker in brackets ("(BEGIN_MEMBER)", "[END_OF_TURN]"): pieces
# of a small model's noise, never what a user writes or an answer says.
_BROKEN_STAMP = re.compile(r"\b\d{4}-\d{2}-\d{2}T(?!\d{2}:\d{2})\S*")
_MARKER = re.compile(r"[(\[<{]\s*(?:BEGIN|END|START|STOP|EOS|BOS|EOT)(?:_[A-Z]+)+\s*[)\]>}]")
# An answer that begins after a cut ("', your response was truncated'") or says it was cut.
_MID_SENTENCE = frozenset(",;:)]}")
_TRUNCATION = re.compile(
    r"\b(?:your|my|this|the previous) (?:response|reply|answer|message)"
    r" (?:was|is|has been|got|seems to have been) (?:truncated|cut off|cut short)\b"
)


def _broken_token(text: str) -> str | None:
    if "T" in text:
        stamp = _BROKEN_STAMP.search(text)
        if stamp:
            return f"a malformed date-time {stamp.group(0)[:40]!r}"
    if "_" in text:
        marker = _MARKER.search(text)
        if marker:
            return f"a control marker {marker.group(0)!r} in the text"
    return None


def fragment(text: str) -> str | None:
    """An answer that is a piece of another text: it starts mid-sentence (with a comma,
    semicolon, colon or closing bracket) or says that the response was cut off."""
    stripped = text.lstrip()
    if stripped[:1] in _MID_SENTENCE:
        return f"the answer starts mid-sentence ({stripped[:30]!r})"
    low = stripped.casefold()
    if "truncat" in low or "cut off" in low or "cut short" in low:
        note = _TRUNCATION.search(low)
        if note:
            return f"a note about truncation ({note.group(0)!r})"
    return None


def refusal(text: str) -> str | None:
    """A canned refusal. Narrow on purpose: an error answer may well start "I'm sorry,
    but I can't find ...", and a no_tool answer may say what the tools cannot do."""
    low = text.casefold()
    if not any(hint in low for hint in _REFUSAL_HINTS):
        return None
    match = _REFUSAL.search(low.replace("\u2019", "'"))
    return f"refusal {match.group(0).strip()!r}" if match else None


def garbage(text: str) -> str | None:
    """Text that is not prose: binary noise, a JSON/markup blob, template tokens, loops.

    Conservative: the edge scenario legitimately carries odd values (unicode, long
    strings, numbers), so only whole-text shapes are judged, never one odd value.
    """
    if not text.isprintable():
        problem = _unprintable(text)
        if problem:
            return problem
    stripped = text.strip()
    problem = _broken_token(stripped)
    if problem:
        return problem
    if "<" in stripped:
        token = _TEMPLATE_TOKEN.search(stripped)
        if token:
            return f"chat template token {token.group(0)!r} in the text"
        if len(stripped) >= 20 and sum(map(len, _TAG.findall(stripped))) >= 0.8 * len(stripped):
            return "a markup blob where prose is expected"
    if stripped[:1] in ("{", "[") and stripped[-1:] in ("}", "]"):
        try:
            orjson.loads(stripped)
            return "a JSON blob where prose is expected"
        except orjson.JSONDecodeError:
            pass
    if stripped[:1] in ("{", "[", "`") and len(_PROSE_WORD.findall(stripped)) < 3:
        return "a fragment of JSON or code where prose is expected"
    return _repetition(stripped) if len(stripped) >= 40 else None


# An ordinary word: a letter, then lowercase letters or an apostrophe.
_PROSE_WORD = re.compile(r"(?<![\w{])[A-Za-z][a-z']+(?![\w}])")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9]*(?:_[A-Za-z0-9]+|[a-z0-9][A-Z][A-Za-z0-9]*)+$")


def identifier_only(text: str) -> str | None:
    """A reply that is just a name like ``read_graph`` or ``SalesEngineer``: not prose."""
    stripped = text.strip().strip(".!")
    if _IDENTIFIER.match(stripped):
        return f"an identifier ({stripped[:40]!r}) where a reply is expected"
    return None


def _unprintable(text: str) -> str | None:
    plain = text.replace("\n", "").replace("\t", "").replace("\r", "")
    if plain.isprintable():
        return None
    import unicodedata

    bad = sum(1 for c in plain if c == "\ufffd" or unicodedata.category(c) in _BAD_CATEGORIES)
    if bad and bad >= 0.1 * len(text):
        return f"mostly non-printable ({bad} of {len(text)} characters)"
    return None


def _repetition(text: str) -> str | None:
    """A word that is half the text, a word 8 times in a row, or a phrase loop.

    Whitespace tokens give cheap bounds that clear most texts (a dominant word needs
    distinct <= n/2 + 1, a run of 8 needs n - distinct >= 7, few distinct trigrams need
    few distinct words); only suspects are measured on words with letters, so a list
    of numbers or IDs is never called a loop.
    """
    tokens = text.casefold().split()
    n, distinct = len(tokens), len(set(tokens))
    if n < 10 or (
        distinct > n / 2 + 1 and n - distinct < 7 and (n < 30 or distinct - 2 >= 0.3 * (n - 2))
    ):
        return None
    words = _LETTERS.findall(text.casefold())
    n = len(words)
    if n < 10:
        return None
    word, count = Counter(words).most_common(1)[0]
    if count >= n / 2:
        return f"the word {word!r} is {count} of {n} words"
    if b"\x01" * 7 in bytes(a == b for a, b in itertools.pairwise(words)):
        return "a word repeated 8 or more times in a row"
    if n >= 30 and len(set(zip(words, words[1:], words[2:], strict=False))) < 0.3 * (n - 2):
        return "the text repeats itself (few distinct word trigrams)"
    return None
