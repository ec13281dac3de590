"""Test double: FakeModel, a deterministic stand-in for the model (NOT a model).

It answers forge-batch's own seed and paraphrase prompts instantly: values
come from the response schema (tests/schema_faker.py), seeded by a hash of the
request, and the user turns are written from the argument values so the
conversations pass the grounding check. Paraphrases reword the message with
templates that keep every listed value. Use it through the local server:
``[engine] executor = "tests/doubles.py:FakeModel"`` or
``forge-batch serve --executor tests/doubles.py:FakeModel``.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import sys
import time
from pathlib import Path
from typing import Any

# Loaded by file path from the CLI (--executor tests/doubles.py:FakeModel) as
# well as imported by pytest: make the sibling helper importable either way.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from schema_faker import fake, word

OPENERS = (
    "Could you",
    "Please",
    "I need you to",
    "Quick one:",
    "Hey, can you",
    "Would you mind if we",
    "Let's",
    "Go ahead and",
)
PARAPHRASE_FRAMES = (
    "{opener} handle this for me, using {values}. Thanks a lot in advance.",
    "Here is what I am after today: {values}. {opener} take care of it whenever ready?",
    "My manager asked about {values} and {opener_l} sort it out now.",
    "Okay so the details are {values}; {opener_l} do the needful please.",
    "Small favour needed regarding {values} — {opener_l} run it?",
)


def _leaves(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _leaves(v)]
    if isinstance(value, list):
        return [s for v in value for s in _leaves(v)]
    if value is None or isinstance(value, bool):
        return []
    return [str(value)]


def _user_for(calls: list[dict[str, Any]], rng: random.Random) -> str:
    parts = []
    for call in calls:
        values = _leaves(call.get("arguments"))
        said = ", ".join(f"'{v}'" for v in values) if values else "nothing special"
        parts.append(f"{call.get('name', 'it').replace('_', ' ')} with {said}")
    return f"{rng.choice(OPENERS)} {' and also '.join(parts)}? {word(rng).title()} here."


def _conversation(data: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    for suffix in ("", "_1", "_2"):
        if f"user{suffix}" not in data:
            continue
        calls = data.get(f"calls{suffix}")
        if isinstance(calls, list) and calls:
            data[f"user{suffix}"] = _user_for(calls, rng)
        else:
            data[f"user{suffix}"] = (
                f"{rng.choice(OPENERS)} tell me something about "
                f"{word(rng)} {word(rng)} and {word(rng)}?"
            )
        answer = f"answer{suffix}"
        if answer in data:
            data[answer] = (
                f"Done: I looked at {word(rng)} and {word(rng)}, everything is in "
                f"order with {word(rng)}."
            )
    return data


_VALUES = re.compile(r"Values to keep exactly: (.*)\n")


def _paraphrases(prompt: str, n: int, rng: random.Random) -> dict[str, Any]:
    found = _VALUES.search(prompt)
    values_text = found.group(1) if found else "none"
    values = [] if values_text == "none" else json.loads(f"[{values_text}]")
    said = " and ".join(f"'{v}'" for v in values) or f"the {word(rng)} thing"
    out = []
    frames = list(PARAPHRASE_FRAMES)
    rng.shuffle(frames)
    for j in range(n):
        opener = rng.choice(OPENERS)
        out.append(
            frames[j % len(frames)].format(
                values=said, opener=opener, opener_l=opener[0].lower() + opener[1:]
            )
        )
    return {"paraphrases": out}


class FakeModel:
    """Deterministic executor for forge-batch prompts (test double)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay

    def __call__(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.delay:
            time.sleep(self.delay)
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).digest()
        rng = random.Random(digest)
        schema = body["response_format"]["json_schema"]["schema"]
        prompt = body["messages"][-1]["content"]
        if "paraphrases" in schema.get("properties", {}):
            n = schema["properties"]["paraphrases"].get("minItems", 1)
            data = _paraphrases(prompt, n, rng)
        else:
            data = _conversation(fake(schema, rng, null_rate=0.5), rng)
        content = json.dumps(data, ensure_ascii=False)
        prompt_chars = sum(len(m.get("content") or "") for m in body["messages"])
        return 200, {
            "id": "chatcmpl-" + digest.hex()[:24],
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": body.get("model", "fake"),
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": content, "refusal": None},
                }
            ],
            "usage": {
                "prompt_tokens": prompt_chars // 4,
                "completion_tokens": len(content) // 4,
                "total_tokens": prompt_chars // 4 + len(content) // 4,
            },
        }
