"""The request key is a contract: fixed bodies have fixed keys, written down here."""

from __future__ import annotations

import hashlib
import json

from forge_batch import keys

BODY = {
    "model": "gpt-4o-mini",
    "messages": [
        {"role": "system", "content": "Sé breve."},
        {"role": "user", "content": "Weather in Zürich?"},
    ],
    "response_format": {
        "type": "json_schema",
        "json_schema": {
            "name": "x",
            "strict": True,
            "schema": {
                "type": "object",
                "properties": {"a": {"type": "string"}},
                "required": ["a"],
                "additionalProperties": False,
            },
        },
    },
    "temperature": 0.8,
    "seed": 7,
    "max_completion_tokens": 256,
}
FIXED_KEY = "fb1:dc4de37fcb9f1812d12e2e548d662684db4862b14bbd248c348a5dfbae4d"


def test_fixed_body_has_fixed_key() -> None:
    assert keys.request_key(BODY) == FIXED_KEY


def test_key_is_sha256_of_canonical_json_with_tag() -> None:
    canonical = json.dumps(BODY, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert keys.canonical(BODY) == canonical
    assert "fb1:" + hashlib.sha256(canonical).hexdigest()[:60] == FIXED_KEY


def test_key_ignores_dict_order_and_fits_custom_id() -> None:
    reordered = dict(reversed(list(BODY.items())))
    assert keys.request_key(reordered) == FIXED_KEY
    assert len(FIXED_KEY) == keys.KEY_LENGTH == 64 and FIXED_KEY.isascii()
    assert keys.is_key(FIXED_KEY) and not keys.is_key(FIXED_KEY.upper())


def test_any_change_to_the_body_changes_the_key() -> None:
    for field, value in [
        ("model", "gpt-4o"),
        ("temperature", 0.7),
        ("seed", 8),
        ("max_completion_tokens", 255),
    ]:
        assert keys.request_key({**BODY, field: value}) != FIXED_KEY
    edited = json.loads(json.dumps(BODY))
    edited["messages"][1]["content"] = "Weather in Zurich?"
    assert keys.request_key(edited) != FIXED_KEY
