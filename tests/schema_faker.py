"""Test double: deterministic values for a (strict) JSON Schema.

Used by the round-trip tests (convert -> generate -> decode -> validate) and
by the fake executor that stands in for the model in fast end-to-end tests.
"""

from __future__ import annotations

import random
import re
import string
from typing import Any

WORDS = (
    "amber",
    "basalt",
    "cobalt",
    "delta",
    "ember",
    "fjord",
    "granite",
    "harbor",
    "indigo",
    "juniper",
    "kelp",
    "lumen",
    "meadow",
    "nimbus",
    "onyx",
    "pebble",
    "quartz",
    "river",
    "saffron",
    "tundra",
    "umber",
    "violet",
    "willow",
    "xenon",
    "yarrow",
    "zephyr",
)


def word(rng: random.Random) -> str:
    return rng.choice(WORDS)


def _pattern(pattern: str, rng: random.Random) -> str:
    """A string for simple regexes: literals, classes, \\d \\w, ? * + {n,m}, anchors."""
    out: list[str] = []
    i = 0
    p = pattern.strip("^$")
    while i < len(p):
        ch = p[i]
        if ch == "\\" and i + 1 < len(p):
            esc = p[i + 1]
            pool = {"d": string.digits, "w": string.ascii_lowercase + string.digits, "s": " "}.get(
                esc, esc
            )
            i += 2
        elif ch == "[":
            end = p.index("]", i)
            body, pool = p[i + 1 : end], ""
            j = 0
            while j < len(body):
                if j + 2 < len(body) and body[j + 1] == "-":
                    pool += "".join(chr(c) for c in range(ord(body[j]), ord(body[j + 2]) + 1))
                    j += 3
                else:
                    pool += body[j]
                    j += 1
            i = end + 1
        elif ch == ".":
            pool, i = string.ascii_lowercase, i + 1
        else:
            pool, i = ch, i + 1
        lo = hi = 1
        if i < len(p) and p[i] in "?*+{":
            if p[i] == "{":
                end = p.index("}", i)
                parts = p[i + 1 : end].split(",")
                lo = int(parts[0] or 0)
                hi = int(parts[-1]) if parts[-1] else lo + 3
                i = end + 1
            else:
                lo, hi = {"?": (0, 1), "*": (0, 3), "+": (1, 3)}[p[i]]
                i += 1
        out.extend(rng.choice(pool) for _ in range(rng.randint(lo, hi)))
    return "".join(out)


FORMATS = {
    "date-time": lambda r: (
        f"2026-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}T10:{r.randint(10, 59)}:00Z"
    ),
    "date": lambda r: f"2026-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
    "time": lambda r: f"{r.randint(10, 23)}:{r.randint(10, 59)}:00",
    "email": lambda r: f"{word(r)}@{word(r)}.example",
    "uuid": lambda r: (
        f"{r.getrandbits(32):08x}-{r.getrandbits(16):04x}-4{r.getrandbits(12):03x}-8{r.getrandbits(12):03x}-{r.getrandbits(48):012x}"
    ),
    "ipv4": lambda r: ".".join(str(r.randint(1, 254)) for _ in range(4)),
    "ipv6": lambda r: ":".join(f"{r.getrandbits(16):x}" for _ in range(8)),
    "hostname": lambda r: f"{word(r)}.{word(r)}.example",
    "duration": lambda r: f"P{r.randint(1, 9)}D",
}


def fake(schema: Any, rng: random.Random, null_rate: float = 0.3) -> Any:
    if not isinstance(schema, dict) or not schema:
        return word(rng)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return rng.choice(schema["enum"])
    if "anyOf" in schema:
        options = schema["anyOf"]
        non_null = [o for o in options if o.get("type") != "null"]
        if len(non_null) < len(options) and rng.random() < null_rate:
            return None
        return fake(rng.choice(non_null or options), rng, null_rate)
    kind = schema.get("type")
    if isinstance(kind, list):
        non_null = [k for k in kind if k != "null"]
        if "null" in kind and rng.random() < null_rate:
            return None
        kind = rng.choice(non_null) if non_null else "null"
    if kind == "object":
        return {k: fake(v, rng, null_rate) for k, v in (schema.get("properties") or {}).items()}
    if kind == "array":
        lo = schema.get("minItems", 1)
        hi = schema.get("maxItems", max(lo, 2))
        return [fake(schema.get("items", {}), rng, null_rate) for _ in range(rng.randint(lo, hi))]
    if kind == "string":
        if "format" in schema and schema["format"] in FORMATS:
            return FORMATS[schema["format"]](rng)
        if "pattern" in schema:
            return _pattern(schema["pattern"], rng)
        desc = str(schema.get("description", ""))
        if "JSON value encoded as a string" in desc:
            return f'{{"{word(rng)}": "{word(rng)}"}}'
        return f"{word(rng)}-{rng.randint(10, 99)}"
    if kind in ("integer", "number"):
        lo = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        hi = schema.get("maximum", schema.get("exclusiveMaximum", lo + 100))
        value = rng.randint(int(lo) + 1, max(int(lo) + 1, int(hi) - 1)) if hi - lo > 2 else lo
        if "multipleOf" in schema:
            value = value - value % schema["multipleOf"] or schema["multipleOf"]
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    return word(rng)


def matches(pattern: str, value: str) -> bool:
    return re.search(pattern, value) is not None
