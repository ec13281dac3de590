"""The shared state of the checks: the run's CheckContext and the per-sample View.

A CheckContext is built once per run. It compiles one jsonschema validator per
distinct tool schema (keyed by the schema's canonical JSON), parses a sample's call
arguments once for all checks, and remembers verdicts for argument strings already
validated: paraphrases share their seed's calls, so most validations are lookups.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import orjson
from jsonschema.exceptions import best_match

from ..records import Sample
from ..tools import schema_problem
from .formats import format_checker
from .subschema import resolve

Check = Callable[[Sample, "CheckContext"], str | None]

_MEMO_LIMIT = 200_000  # remembered verdicts (~90 bytes each) before starting over
# Schema objects and tools lists recognized by identity before starting over. They
# pay only while one response's samples are checked (a paraphrase shares its seed's
# parsed tools list and schemas); every other sample arrives with fresh objects.
# Each entry keeps its object alive, and a seed's tools list holds up to
# catalogue_size (20) full tool entries, so 4,096 of them held ~120 MB at 20k
# responses for nothing.
_ID_CACHE_LIMIT = 32


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
    # On ([judge] enabled): the judge stage decides the rules' doubts (checks.assess).
    # Off (the default here, as for tests and benches): a doubt rejects like a failure.
    judge: bool = False
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
            from . import CHECKS  # the registry imports this module

            self.checks = tuple(c for c in CHECKS if self.grounding or c[0] != "grounding")

    @classmethod
    def build(
        cls, grounding: bool = True, min_text_chars: int = 2, judge: bool = False
    ) -> CheckContext:
        """The context for one run (settings from forge.toml's [checks])."""
        return cls(grounding=grounding, min_text_chars=min_text_chars, judge=judge)

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
        subs = {name: resolve(sub, schema) for name, sub in props.items()}
        return ToolSpec(index, schema, None, props, required, closed, patterns, validator, subs)

    def _format_checker(self) -> jsonschema.FormatChecker:
        if self._formats is None:
            self._formats = format_checker()
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
            reason = f"argument '{path}': {short(error.message)}"
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


def short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def message_text(content: Any) -> str:
    """The text of a message's content: a string, or the text of its content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts
        return "".join(p.get("text") or "" for p in content if isinstance(p, dict))
    return ""
