"""Sub-schemas of a tool schema: local ``$ref``s followed, properties and array items
looked up through combinators. Shared by the context (compiling) and grounding."""

from __future__ import annotations

from typing import Any


def resolve(schema: Any, root: dict[str, Any]) -> dict[str, Any]:
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


def child(schema: dict[str, Any], root: dict[str, Any], key: str | int) -> dict[str, Any]:
    """The sub-schema of a property or an array item, looking into combinators."""
    candidates = [schema]
    for word in ("anyOf", "oneOf", "allOf"):
        branches = schema.get(word)
        if isinstance(branches, list):
            candidates.extend(resolve(b, root) for b in branches)
    for node in candidates:
        if isinstance(key, str):
            props = node.get("properties")
            if isinstance(props, dict) and key in props:
                return resolve(props[key], root)
        else:
            items = node.get("prefixItems") if isinstance(node.get("prefixItems"), list) else None
            if items is not None and key < len(items):
                return resolve(items[key], root)
            if isinstance(node.get("items"), dict):
                return resolve(node["items"], root)
    return {}
