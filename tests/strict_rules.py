"""Test helper: OpenAI strict Structured Outputs rules and Batch API line rules.

Written independently of forge_batch.tools.strict so it can catch the converter's
mistakes: what OpenAI documents for strict schemas (supported keywords, every
object closed and fully required, root an object, limits) and for Batch input
lines (custom_id <= 64 chars, method, url, body).
"""

from __future__ import annotations

import re
from typing import Any

import orjson

KEYWORDS = {
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "const",
    "anyOf",
    "description",
    "pattern",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
    "$ref",
    "$defs",
}
TYPES = {"string", "number", "boolean", "integer", "object", "array", "null"}
FORMATS = {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"}
NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
BODY_KEYS = {"model", "messages", "response_format", "temperature", "seed", "max_completion_tokens"}


def schema_violations(schema: Any) -> list[str]:
    out: list[str] = []
    if not isinstance(schema, dict) or schema.get("type") != "object":
        out.append("root: must be an object schema")
    if isinstance(schema, dict) and "anyOf" in schema:
        out.append("root: must not be anyOf")
    stats = {"props": 0, "enums": 0, "chars": 0}
    _walk(schema, "root", 1, out, stats)
    if stats["props"] > 5000:
        out.append(f"more than 5000 properties ({stats['props']})")
    if stats["enums"] > 1000:
        out.append(f"more than 1000 enum values ({stats['enums']})")
    if stats["chars"] > 120_000:
        out.append("names and enum values exceed 120,000 characters")
    return out


def _walk(node: Any, path: str, depth: int, out: list[str], stats: dict[str, int]) -> None:
    if not isinstance(node, dict):
        out.append(f"{path}: not a schema object")
        return
    for key in node:
        if key not in KEYWORDS:
            out.append(f"{path}: unsupported keyword {key!r}")
    kinds = node.get("type")
    kinds = [kinds] if isinstance(kinds, str) else (kinds or [])
    for kind in kinds:
        if kind not in TYPES:
            out.append(f"{path}: unknown type {kind!r}")
    if "format" in node and node["format"] not in FORMATS:
        out.append(f"{path}: unsupported format {node['format']!r}")
    if "enum" in node:
        stats["enums"] += len(node["enum"])
        stats["chars"] += sum(len(str(v)) for v in node["enum"])
    if "object" in kinds:
        if depth > 10:
            out.append(f"{path}: objects nested deeper than 10")
        props = node.get("properties")
        if not isinstance(props, dict):
            out.append(f"{path}: object without properties")
            props = {}
        if node.get("additionalProperties") is not False:
            out.append(f"{path}: additionalProperties must be false")
        if set(node.get("required", [])) != set(props) or len(node.get("required", [])) != len(
            props
        ):
            out.append(f"{path}: every property must be required")
        stats["props"] += len(props)
        stats["chars"] += sum(len(k) for k in props)
        for name, sub in props.items():
            _walk(sub, f"{path}.{name}", depth + 1, out, stats)
    if "array" in kinds:
        if "items" not in node:
            out.append(f"{path}: array without items")
        else:
            _walk(node["items"], f"{path}[]", depth, out, stats)
    for i, sub in enumerate(node.get("anyOf", [])):
        _walk(sub, f"{path}.anyOf[{i}]", depth, out, stats)


def body_violations(body: Any) -> list[str]:
    out: list[str] = []
    if not isinstance(body, dict):
        return ["body: not an object"]
    for key in body:
        if key not in BODY_KEYS:
            out.append(f"body: unexpected key {key!r}")
    if not isinstance(body.get("model"), str) or not body["model"]:
        out.append("body: model missing")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        out.append("body: messages missing")
    else:
        for m in messages:
            if m.get("role") not in ("system", "user", "assistant", "developer") or not isinstance(
                m.get("content"), str
            ):
                out.append(f"body: bad message {m!r:.80}")
    rf = body.get("response_format") or {}
    js = rf.get("json_schema") or {}
    if rf.get("type") != "json_schema" or js.get("strict") is not True:
        out.append("body: response_format must be a strict json_schema")
    if not NAME.match(str(js.get("name", ""))):
        out.append("body: json_schema.name is not a valid name")
    out.extend(schema_violations(js.get("schema")))
    return out


def line_violations(line: bytes) -> list[str]:
    record = orjson.loads(line)
    out = []
    cid = record.get("custom_id")
    if not isinstance(cid, str) or not cid or len(cid) > 64 or not cid.isascii():
        out.append(f"custom_id invalid: {cid!r}")
    if record.get("method") != "POST":
        out.append("method must be POST")
    if record.get("url") != "/v1/chat/completions":
        out.append("url must be /v1/chat/completions")
    if set(record) != {"custom_id", "method", "url", "body"}:
        out.append(f"unexpected keys {sorted(record)}")
    out.extend(body_violations(record.get("body")))
    return out
