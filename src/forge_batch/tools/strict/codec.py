"""The codec that undoes strict mode's two encodings in a parsed tool call.

Optional properties travel as nullable (a ``null`` for one is dropped again),
free-form values travel as JSON-encoded strings (decoded again), so a parsed
call carries the real types of the tool's original schema.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

JSON = "json"  # codec leaf: the value is a JSON-encoded string to decode


@dataclass(frozen=True, slots=True)
class ObjCodec:
    """Object: drop nulls of ``optional`` keys, decode ``props`` that need it."""

    props: dict[str, Any] = field(default_factory=dict)
    optional: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ArrCodec:
    items: Any


@dataclass(frozen=True, slots=True)
class AnyCodec:
    """anyOf: the branch is chosen by the shape of the value."""

    branches: tuple[Any, ...]


Codec = None | str | ObjCodec | ArrCodec | AnyCodec


class DecodeError(ValueError):
    """A JSON-encoded free-form value did not parse."""


def decode(value: Any, codec: Codec) -> Any:
    """Undo the strict encoding: drop optional nulls, decode JSON strings."""
    if codec is None:
        return value
    if codec is JSON:
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError as exc:
            raise DecodeError(f"free-form value is not valid JSON: {value[:60]!r}") from exc
    if isinstance(codec, ObjCodec):
        if not isinstance(value, dict):
            return value
        out = {}
        for k, v in value.items():
            if v is None and k in codec.optional:
                continue
            sub = codec.props.get(k)
            out[k] = v if sub is None else decode(v, sub)
        return out
    if isinstance(codec, ArrCodec):
        return [decode(v, codec.items) for v in value] if isinstance(value, list) else value
    if isinstance(codec, AnyCodec):
        for branch in codec.branches:
            if isinstance(branch, ObjCodec) and isinstance(value, dict):
                if set(value) <= set(branch.props) | branch.optional or not branch.props:
                    return decode(value, branch)
            elif isinstance(branch, ArrCodec) and isinstance(value, list):
                return decode(value, branch)
        return value
    raise TypeError(f"unknown codec {codec!r}")
