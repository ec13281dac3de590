"""Local ``$ref`` resolution for the strict converter.

Only references inside the same schema are followed; a recursive one is
refused, since a recursive schema has no bounded strict form.
"""

from __future__ import annotations

from typing import Any

from .rules import Unconvertible


def resolve(
    root: dict[str, Any], node: dict[str, Any], path: str, stack: tuple[str, ...]
) -> tuple[dict, tuple]:
    """Follow local ``$ref`` chains in ``node`` (refused: remote, recursive, deeper than 32)."""
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise Unconvertible(f"{path or '(root)'}: only local $ref are supported, got {ref!r}")
        if ref in stack:
            chain = " -> ".join([*stack[stack.index(ref) :], ref])
            raise Unconvertible(
                f"{path or '(root)'}: recursive $ref ({chain}); "
                "a recursive schema has no bounded strict form"
            )
        if len(stack) >= 32:
            raise Unconvertible(f"{path or '(root)'}: $ref chain deeper than 32")
        target: Any = root
        for part in ref[1:].split("/")[1:] if ref != "#" else []:
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(target, dict) and part in target:
                target = target[part]
            elif isinstance(target, list) and part.isdigit() and int(part) < len(target):
                target = target[int(part)]
            else:
                raise Unconvertible(f"{path or '(root)'}: $ref {ref!r} points nowhere")
        extra = {k: v for k, v in node.items() if k != "$ref"}
        node = {**target, **extra} if isinstance(target, dict) else target
        stack = (*stack, ref)
    if node is True:
        node = {}
    if not isinstance(node, dict):
        raise Unconvertible(f"{path or '(root)'}: a schema must be an object, got {node!r}")
    return node, stack
