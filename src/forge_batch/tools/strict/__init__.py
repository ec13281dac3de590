"""Convert a tool's JSON Schema to OpenAI's strict Structured Outputs subset, and back.

Strict mode only accepts objects with ``additionalProperties: false`` that list
every property as required, and a handful of keywords. The conversion keeps
what strict mode can express, moves the meaning of the rest into descriptions,
and returns a *codec* that undoes the two encodings it had to introduce:

* optional properties become nullable; a ``null`` the model writes for one is
  dropped again when parsing;
* free-form values (objects without properties, ``any``, ``{}``) travel as
  JSON-encoded strings and are decoded when parsing,

so a parsed tool call carries the real types of the original schema, and is
validated against that original schema, not the strict one.
"""

from .codec import JSON, AnyCodec, ArrCodec, Codec, DecodeError, ObjCodec, decode
from .converter import Conversion, convert, convert_any
from .rules import (
    MAX_ENUM_VALUES,
    MAX_OBJECT_DEPTH,
    MAX_PARAM_DEPTH,
    MAX_PROPERTIES,
    Unconvertible,
    make_nullable,
)

__all__ = [
    "JSON",
    "MAX_ENUM_VALUES",
    "MAX_OBJECT_DEPTH",
    "MAX_PARAM_DEPTH",
    "MAX_PROPERTIES",
    "AnyCodec",
    "ArrCodec",
    "Codec",
    "Conversion",
    "DecodeError",
    "ObjCodec",
    "Unconvertible",
    "convert",
    "convert_any",
    "decode",
    "make_nullable",
]
