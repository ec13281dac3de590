"""Validations of one sample, run in a fixed order; the first failure names the check.

As in datatrove's filters, a check is a small function ``(sample, ctx) -> None | str``
(None = ok, a string = the reason) and knows nothing about files: the caller writes
the rejects. Every check works from the dataset record alone (the sample's own
``tools`` are the tool set), so real data, seeds and paraphrases are judged alike.

A CheckContext is built once per run. It compiles one jsonschema validator per
distinct tool schema (keyed by the schema's canonical JSON), parses a sample's call
arguments once for all checks, and remembers verdicts for argument strings already
validated: paraphrases share their seed's calls, so most validations are lookups.
The check names are a contract: rejects.jsonl and the report use them.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import jsonschema
import orjson
from jsonschema.exceptions import best_match

from .records import Sample
from .tools import schema_problem

Check = Callable[[Sample, "CheckContext"], str | None]

CHECK_ORDER: tuple[str, ...] = (
    "roles",
    "hygiene",
    "json",
    "tool",
    "required",
    "unknown_args",
    "schema",
    "grounding",
    "call_count",
)
# Every check name a reject can carry, in pipeline order (the report lists them so).
all_checks: tuple[str, ...] = (
    "request_failed",
    "parse",
    "truncated",
    "refusal",
    *CHECK_ORDER,
    "duplicate",
    "synthetic_cap",
)

_MEMO_LIMIT = 200_000  # remembered verdicts (~90 bytes each) before starting over
_ID_CACHE_LIMIT = 4096  # schema objects recognized by identity before starting over


# -- context and the per-sample view -----------------------------------------------


@dataclass(slots=True, eq=False)
class ToolSpec:
    """One distinct tool schema, compiled once, with what the checks read of it."""

    index: int
    schema: dict[str, Any]
    problem: str | None  # the definition itself is not valid JSON Schema
    properties: dict[str, Any]
    required: tuple[str, ...]
    closed: bool  # undeclared arguments are errors
    patterns: tuple[re.Pattern[str], ...]
    validator: Any
    subs: dict[str, dict[str, Any]] = field(default_factory=dict)  # resolved property schemas

    @classmethod
    def broken(cls, index: int, schema: dict[str, Any], problem: str) -> ToolSpec:
        """A definition that is not valid JSON Schema: calls to it fail the tool check."""
        return cls(index, schema, problem, {}, (), False, (), None)


@dataclass(slots=True)
class Call:
    turn: int  # index of the assistant message that makes the call
    n: int  # position over the whole conversation
    name: str | None
    raw: str  # the arguments string as written ("" when it is not a string)
    args: Any  # decoded arguments (None when ``error``)
    error: str | None

    def label(self) -> str:
        return f"call {self.n} ({self.name})"


@dataclass(slots=True)
class View:
    """What several checks need of one sample, computed once."""

    tools: dict[str, ToolSpec]
    calls: list[Call]
    usable: list[tuple[Call, ToolSpec]]  # calls that decode, of a tool that exists and is valid


@dataclass(slots=True, eq=False)
class CheckContext:
    """Settings and caches of one run: build it once, pass it to every check.

    Schemas are recognized by object identity first (parse.py shares one parameters
    dict per tool), then by their JSON as written, then by canonical JSON; only a new
    canonical schema is compiled.
    """

    grounding: bool = True
    min_text_chars: int = 2
    compiled: int = 0  # validators compiled so far (one per distinct schema)
    checks: tuple[tuple[str, Check], ...] = field(default=(), repr=False)
    _specs: dict[bytes, ToolSpec] = field(default_factory=dict, repr=False)
    _by_id: dict[int, tuple[Any, ToolSpec]] = field(default_factory=dict, repr=False)
    _by_text: dict[bytes, ToolSpec] = field(default_factory=dict, repr=False)
    _lists: dict[int, tuple[Any, dict[str, ToolSpec]]] = field(default_factory=dict, repr=False)
    _memo: dict[int, str | None] = field(default_factory=dict, repr=False)
    _last: tuple[Sample, View] | None = field(default=None, repr=False)
    _formats: jsonschema.FormatChecker | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.checks:
            self.checks = tuple(c for c in CHECKS if self.grounding or c[0] != "grounding")

    @classmethod
    def build(cls, grounding: bool = True, min_text_chars: int = 2) -> CheckContext:
        """The context for one run (settings from forge.toml's [checks])."""
        return cls(grounding=grounding, min_text_chars=min_text_chars)

    def spec(self, schema: Any) -> ToolSpec:
        """The compiled form of a tool schema; compiled only the first time it is seen."""
        hit = self._by_id.get(id(schema))
        if hit is not None and hit[0] is schema:
            return hit[1]
        spec = self._by_json(schema)
        if len(self._by_id) >= _ID_CACHE_LIMIT:
            self._by_id.clear()
        self._by_id[id(schema)] = (schema, spec)  # holding it keeps the id unique
        return spec

    def _by_json(self, schema: Any) -> ToolSpec:
        """Look up by the schema's JSON as written (cheap), then by its canonical JSON."""
        try:
            text = orjson.dumps(schema)
        except TypeError:  # not JSON (e.g. an integer beyond 64 bits): still a key
            text = repr(schema).encode()
        spec = self._by_text.get(text)
        if spec is None:
            try:
                key = orjson.dumps(schema, option=orjson.OPT_SORT_KEYS)
            except TypeError:
                key = text
            spec = self._specs.get(key)
            if spec is None:
                spec = self._specs[key] = self._compile(schema)
            self._by_text[text] = spec
        return spec

    def _compile(self, schema: Any) -> ToolSpec:
        self.compiled += 1
        index = len(self._specs)
        if not isinstance(schema, dict):
            return ToolSpec.broken(index, {}, "parameters is not a JSON object")
        problem = schema_problem(schema)  # shared with (and remembered from) loading tools
        if problem:
            return ToolSpec.broken(index, schema, problem)
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        validator = cls(schema, format_checker=self._format_checker())
        props = schema.get("properties")
        props = props if isinstance(props, dict) else {}
        try:
            patterns = tuple(re.compile(p) for p in schema.get("patternProperties") or ())
        except (re.error, TypeError) as exc:
            return ToolSpec.broken(index, schema, f"a patternProperties key is not a regex: {exc}")
        extra = schema.get("additionalProperties")
        declared = "properties" in schema or "patternProperties" in schema
        closed = declared and not (extra is True or isinstance(extra, dict))
        required = tuple(r for r in schema.get("required") or () if isinstance(r, str))
        subs = {name: _resolve(sub, schema) for name, sub in props.items()}
        return ToolSpec(index, schema, None, props, required, closed, patterns, validator, subs)

    def _format_checker(self) -> jsonschema.FormatChecker:
        if self._formats is None:
            self._formats = _format_checker()
        return self._formats

    def view(self, sample: Sample) -> View:
        """The parsed calls and tools of ``sample`` (cached for the sample being checked)."""
        if self._last is not None and self._last[0] is sample:
            return self._last[1]
        tools, calls = self._tools(sample.tools), list(_calls(sample))
        usable = []
        for call in calls:
            spec = tools.get(call.name) if call.name is not None else None
            if call.error is None and spec is not None and spec.problem is None:
                usable.append((call, spec))
        view = View(tools, calls, usable)
        self._last = (sample, view)
        return view

    def _tools(self, entries: list[dict[str, Any]]) -> dict[str, ToolSpec]:
        """name -> spec; paraphrases share their seed's tools list, so it is cached too."""
        hit = self._lists.get(id(entries))
        if hit is not None and hit[0] is entries:
            return hit[1]
        out: dict[str, ToolSpec] = {}
        for entry in entries or ():
            fn = entry.get("function", entry) if isinstance(entry, dict) else None
            if isinstance(fn, dict) and isinstance(fn.get("name"), str):
                params = fn.get("parameters")
                if params is None:
                    params = _NO_PARAMS
                out.setdefault(fn["name"], self.spec(params))
        if len(self._lists) >= _ID_CACHE_LIMIT:
            self._lists.clear()
        self._lists[id(entries)] = (entries, out)
        return out

    def validate(self, spec: ToolSpec, raw: str, args: Any) -> str | None:
        """First schema error of ``args``, remembered under a 64-bit hash of (schema,
        arguments string): paraphrases repeat their seed's calls, and the hash keeps
        the memo from holding the strings."""
        key = hash((spec.index, raw))
        if key in self._memo:
            return self._memo[key]
        error = best_match(spec.validator.iter_errors(args))
        reason = None
        if error is not None:
            path = "/".join(str(p) for p in error.absolute_path) or "(root)"
            reason = f"argument '{path}': {_short(error.message)}"
        if len(self._memo) >= _MEMO_LIMIT:
            self._memo.clear()
        self._memo[key] = reason
        return reason


_NO_PARAMS: dict[str, Any] = {"type": "object", "properties": {}}


def _calls(sample: Sample) -> Iterator[Call]:
    n = 0
    for turn, message in enumerate(sample.messages):
        if not isinstance(message, dict) or message.get("role") != "assistant":
            continue
        for call in message.get("tool_calls") or ():
            fn = call.get("function") if isinstance(call, dict) else None
            fn = fn if isinstance(fn, dict) else {}
            name = fn.get("name") if isinstance(fn.get("name"), str) else None
            raw = fn.get("arguments")
            args, error = _decode(raw)
            yield Call(turn, n, name, raw if isinstance(raw, str) else "", args, error)
            n += 1


def _decode(raw: Any) -> tuple[Any, str | None]:
    """Strict JSON (orjson: no NaN/Infinity, no lone surrogates) to an object."""
    if not isinstance(raw, str):
        return None, f"arguments is a {type(raw).__name__}, not a JSON string"
    try:
        args = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return None, f"arguments are not strict JSON: {exc}"
    if not isinstance(args, dict):
        return None, f"arguments are a JSON {type(args).__name__}, not an object"
    return args, None


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- formats -----------------------------------------------------------------------

_OFFSET = r"(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})"
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}" + _OFFSET)
_TIME = re.compile(r"\d{2}:\d{2}:\d{2}" + _OFFSET)
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S*")


def _format_checker() -> jsonschema.FormatChecker:
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


# -- 1 roles -------------------------------------------------------------------------

_ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})


def check_roles(sample: Sample, ctx: CheckContext) -> str | None:
    """Role order as trainers expect it; every call answered once, right after it."""
    messages = sample.messages
    if not isinstance(messages, list) or not messages:
        return "no messages"
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in _ROLES:
            role = m.get("role") if isinstance(m, dict) else type(m).__name__
            return f"message {i} has an unknown role {role!r}"
    i = 1 if messages[0]["role"] in ("system", "developer") else 0
    if i >= len(messages) or messages[i]["role"] != "user":
        return "the conversation must start with a user turn (after an optional system turn)"
    seen_ids: set[str] = set()
    while i < len(messages):
        i, problem = _step(messages, i, seen_ids)
        if problem:
            return problem
    last = messages[-1]
    if (
        last["role"] != "assistant"
        or last.get("tool_calls")
        or not isinstance(last.get("content"), str | list)
    ):
        return "the conversation must end with an assistant text turn"
    return None


def _step(messages: list[dict[str, Any]], i: int, seen: set[str]) -> tuple[int, str | None]:
    """Check the turn at ``i`` and what must follow it; return the next index."""
    m, role = messages[i], messages[i]["role"]
    nxt = messages[i + 1]["role"] if i + 1 < len(messages) else None
    if role in ("system", "developer"):
        return i, f"message {i}: a {role} turn is only allowed first"
    if role == "tool":
        return i, f"message {i}: tool result without a preceding assistant tool call"
    if role == "user":
        if nxt not in (None, "assistant"):
            return i, f"message {i}: a user turn must be followed by an assistant turn, not {nxt}"
        return i + 1, None
    calls = m.get("tool_calls")
    if not calls:
        if m.get("content") is None:
            return i, f"message {i}: assistant turn with neither content nor tool calls"
        if nxt not in (None, "user"):
            return i, f"message {i}: an assistant answer must be followed by a user turn, not {nxt}"
        return i + 1, None
    return _results(messages, i, calls, seen)


def _results(
    messages: list[dict[str, Any]], i: int, calls: Any, seen: set[str]
) -> tuple[int, str | None]:
    """The tool messages after the calls at ``i``: exactly one per call id, any order."""
    if not isinstance(calls, list):
        return i, f"message {i}: tool_calls is not a list"
    ids = []
    for k, call in enumerate(calls):
        cid = call.get("id") if isinstance(call, dict) else None
        if not isinstance(cid, str) or not cid:
            return i, f"message {i}: tool call {k} has no id"
        if cid in seen:
            return i, f"message {i}: tool call id {cid!r} is used twice"
        seen.add(cid)
        ids.append(cid)
    pending = set(ids)
    j = i + 1
    while j < len(messages) and messages[j]["role"] == "tool":
        cid = messages[j].get("tool_call_id")
        if not isinstance(cid, str) or cid not in pending:
            what = (
                "answers no call of the preceding assistant turn"
                if cid not in ids
                else ("answers a call that already has a result")
            )
            return j, f"message {j}: tool result {cid!r} {what}"
        pending.discard(cid)
        j += 1
    if pending:
        return j, f"message {i}: no tool result for call {sorted(pending)[0]!r}"
    if j >= len(messages) or messages[j]["role"] != "assistant":
        return j, f"message {j - 1}: tool results must be followed by an assistant turn"
    return j, None


# -- 2 hygiene -----------------------------------------------------------------------

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
        text = _text(m.get("content"))
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
            problem = identifier_only(text) or refusal(text)
        if problem:
            return f"message {i} ({role}): {problem}"
    return None


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts
        return "".join(p.get("text") or "" for p in content if isinstance(p, dict))
    return ""


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


# -- 3..7 calls against the tools --------------------------------------------------


def check_json(sample: Sample, ctx: CheckContext) -> str | None:
    """Each call's arguments are a strict JSON object (trainers re-parse them)."""
    for call in ctx.view(sample).calls:
        if call.error:
            return f"{call.label()}: {call.error}"
    return None


def check_tool(sample: Sample, ctx: CheckContext) -> str | None:
    """The called tool is offered in the sample and its definition is valid JSON Schema."""
    view = ctx.view(sample)
    for call in view.calls:
        if call.name is None:
            return f"call {call.n} has no function name"
        spec = view.tools.get(call.name)
        if spec is None:
            return f"{call.label()}: no tool of that name in the sample's tools"
        if spec.problem:
            return f"{call.label()}: the tool's parameters are {spec.problem}"
    return None


def check_required(sample: Sample, ctx: CheckContext) -> str | None:
    """Required top-level arguments are present (nested ones: the schema check)."""
    for call, spec in ctx.view(sample).usable:
        for name in spec.required:
            if name not in call.args:
                return f"{call.label()}: missing required argument '{name}'"
    return None


def check_unknown_args(sample: Sample, ctx: CheckContext) -> str | None:
    """No argument the schema does not declare, unless it allows extra ones."""
    for call, spec in ctx.view(sample).usable:
        if not spec.closed:
            continue
        for name in call.args:
            if name not in spec.properties and not any(p.search(name) for p in spec.patterns):
                return f"{call.label()}: unknown argument '{name}'"
    return None


def check_schema(sample: Sample, ctx: CheckContext) -> str | None:
    """Arguments validate against the tool's original schema (types, enums, patterns,
    formats); a bool is not an integer, an int is a number."""
    for call, spec in ctx.view(sample).usable:
        reason = ctx.validate(spec, call.raw, call.args)
        if reason:
            return f"{call.label()}: {reason}"
    return None


# -- 8 grounding ---------------------------------------------------------------------

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


class _Evidence:
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


def check_grounding(sample: Sample, ctx: CheckContext) -> str | None:
    """Every argument value was said by the user or returned by an earlier tool; a value
    nobody gave is a hallucination (defaults exempt)."""
    usable = ctx.view(sample).usable
    if not usable:
        return None
    evidence, k = _Evidence(), 0
    for turn, message in enumerate(sample.messages):
        if k == len(usable):
            break
        role = message.get("role")
        if role == "user" or role == "tool":
            content = message.get("content")
            evidence.add(
                content
                if isinstance(content, str)
                else _text(content) or orjson.dumps(content).decode()
            )
        while k < len(usable) and usable[k][0].turn == turn:
            call, spec = usable[k]
            k += 1
            for path, value in _leaves(call.args, spec):
                if not evidence.has(value):
                    return (
                        f"{call.label()}: argument '{path}' = {_short(repr(value), 80)} "
                        "is not in the user turns or earlier tool results"
                    )
    return None


def _exempt(value: Any, schema: dict[str, Any]) -> bool:
    """Defaults need no evidence; nor do enum values of a parameter that has a default,
    nor a const."""
    if not schema:
        return False
    if "const" in schema or ("enum" in schema and "default" in schema):
        return True
    return "default" in schema and _same(value, schema["default"])


def _leaves(args: dict[str, Any], spec: ToolSpec) -> Iterator[tuple[str, Any]]:
    """(path, value) of argument leaves that need evidence (strings and numbers)."""
    for key, value in args.items():
        sub = spec.subs.get(key) or {}
        if value is None or value is True or value is False or _exempt(value, sub):
            continue
        if isinstance(value, str | int | float):
            yield key, value
        else:
            yield from _nested(value, sub, spec.schema, key)


def _nested(
    value: Any,
    schema: dict[str, Any],
    root: dict[str, Any],
    path: str,
) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            yield path, value
        return
    for key, item in items:
        sub = _child(schema, root, key)
        if item is None or isinstance(item, bool) or _exempt(item, sub):
            continue
        yield from _nested(item, sub, root, f"{path}/{key}")


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON values: True is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return (
        type(a) is type(b) or (isinstance(a, int | float) and isinstance(b, int | float))
    ) and a == b


def _resolve(schema: Any, root: dict[str, Any]) -> dict[str, Any]:
    """Follow local ``$ref``s (``#/$defs/...``) to the schema they name."""
    for _ in range(8):
        if not isinstance(schema, dict):
            return {}
        ref = schema.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#"):
            return schema
        node: Any = root
        for part in ref[1:].split("/")[1:] if ref != "#" else ():
            node = (
                node.get(part.replace("~1", "/").replace("~0", "~"))
                if isinstance(node, dict)
                else None
            )
        schema = node
    return {}


def _child(schema: dict[str, Any], root: dict[str, Any], key: str | int) -> dict[str, Any]:
    """The sub-schema of a property or an array item, looking into combinators."""
    candidates = [schema]
    for word in ("anyOf", "oneOf", "allOf"):
        branches = schema.get(word)
        if isinstance(branches, list):
            candidates.extend(_resolve(b, root) for b in branches)
    for node in candidates:
        if isinstance(key, str):
            props = node.get("properties")
            if isinstance(props, dict) and key in props:
                return _resolve(props[key], root)
        else:
            items = node.get("prefixItems") if isinstance(node.get("prefixItems"), list) else None
            if items is not None and key < len(items):
                return _resolve(items[key], root)
            if isinstance(node.get("items"), dict):
                return _resolve(node["items"], root)
    return {}


# -- 9 call count --------------------------------------------------------------------


def check_call_count(sample: Sample, ctx: CheckContext) -> str | None:
    """The calls fit the scenario the sample was asked to show."""
    calls = ctx.view(sample).calls
    scenario = sample.scenario
    most = max(Counter(c.turn for c in calls).values()) if scenario == "parallel" and calls else 0
    if scenario in ("no_tool", "ambiguous") and calls:
        return f"{scenario} expects no tool call, got {len(calls)}"
    if scenario == "parallel" and most < 2:
        return f"parallel expects two or more calls in one assistant turn, got at most {most}"
    if scenario == "multi_turn":
        users = sum(1 for m in sample.messages if m.get("role") == "user")
        if users < 2:
            return f"multi_turn expects at least two user turns, got {users}"
    if scenario in ("standard", "error", "edge", "multi_turn") and not calls:
        return f"{scenario} expects at least one tool call, got none"
    return None


CHECKS: tuple[tuple[str, Check], ...] = (
    ("roles", check_roles),
    ("hygiene", check_hygiene),
    ("json", check_json),
    ("tool", check_tool),
    ("required", check_required),
    ("unknown_args", check_unknown_args),
    ("schema", check_schema),
    ("grounding", check_grounding),
    ("call_count", check_call_count),
)
assert tuple(name for name, _ in CHECKS) == CHECK_ORDER


def check_sample(sample: Sample, ctx: CheckContext) -> tuple[str, str] | None:
    """(check, reason) of the first failing check, or None when the sample is kept."""
    try:
        for name, check in ctx.checks:
            reason = check(sample, ctx)
            if reason is not None:
                return name, reason
        return None
    finally:
        ctx._last = None  # do not keep the sample alive
