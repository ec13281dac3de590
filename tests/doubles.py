"""Test double: FakeModel, a deterministic stand-in for the model (NOT a model).

It answers forge-batch's own seed, paraphrase and judge prompts instantly:
values come from the response schema (tests/schema_faker.py), seeded by a hash
of the request, and the user turns are written from the argument values so the
conversations pass the grounding check. Paraphrases reword the message with
templates that keep every listed value. Judge requests get a verdict from a
simple grader (``_verdict``): a value is ok when the user's words or a tool
result contain it, a paraphrase keeps its intent when it states every value
its original stated; a sample with a failure scores low, a clean one gets a
score drawn from the request hash in [0.55, 1), so tests see keeps and
rejects both. Use it through the local server:
``[engine] executor = "tests/doubles.py:FakeModel"`` or
``forge-batch serve --executor tests/doubles.py:FakeModel``.
"""

from __future__ import annotations

import hashlib
import json
import os
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


def _judge_sections(prompt: str) -> dict[str, str]:
    """The judge prompt's sections (split at blank lines), by their label."""
    out = {}
    for part in prompt.split("\n\n"):
        label, _, rest = part.partition(":")
        out[label.split(" (")[0]] = rest.lstrip("\n ")
    return out


def _transcript(text: str) -> tuple[list[str], list[tuple[str, Any]], list[str], bool]:
    """(user texts, calls as (name, args), tool outputs, has final answer) of a transcript."""
    users, calls, outputs, answered = [], [], [], False
    for line in text.splitlines():
        if line.startswith("assistant calls "):
            name, _, args = line[len("assistant calls ") :].partition(" ")
            calls.append((name, json.loads(args or "{}")))
            answered = False
        elif line.startswith("calls "):  # the original request's calls
            name, _, args = line[len("calls ") :].partition(" ")
            calls.append((name, json.loads(args or "{}")))
        elif line.startswith("user: "):
            users.append(json.loads(line[len("user: ") :]))
            answered = False
        elif line.startswith("tool ") and " returned: " in line:
            outputs.append(json.loads(line.split(" returned: ", 1)[1]))
        elif line.startswith("assistant: "):
            answered = True
    return users, calls, outputs, answered


FILLERS = {"is", "of", "to", "at", "be", "should"}


def _value_problem(arg: str, value: str, others: list[str], text: str) -> str:
    """Why a value is not what the user asked for ("" when it is), as a careful
    grader would see it in the simplest way: the user (or a tool) said it, not
    only as the start of a longer name, and the argument's own name is not
    followed first by another argument's value."""
    spots = [m.end() for m in re.finditer(re.escape(value), text, re.IGNORECASE)]
    if not spots:
        return "not in the user's words"
    if value[:1].isupper() and all(re.match(r" [A-Z]", text[e : e + 2]) for e in spots):
        return "cut short"
    label = re.escape(arg.replace("_", " "))
    for m in re.finditer(rf"\b{label}\b", text, re.IGNORECASE):
        words = re.findall(r"[\w.]+", text[m.end() : m.end() + 40].casefold())
        said = next((w for w in words if w not in FILLERS), "")
        if said != value.casefold() and said in {o.casefold() for o in others}:
            return "swapped with another argument"
    return ""


def _verdict(prompt: str, rng: random.Random) -> dict[str, Any]:
    """A deterministic grade of a forge-batch judge prompt (see the module docstring)."""
    sections = _judge_sections(prompt)
    users, calls, outputs, answered = _transcript(sections.get("Conversation", ""))
    evidence = " ".join(users + outputs)
    graded, bad = [], []
    for name, args in calls:
        items = args.items() if isinstance(args, dict) else []
        entries = []
        values = {arg: _leaves(value) for arg, value in items}
        for arg, leaves in values.items():
            others = [v for a, vs in values.items() if a != arg for v in vs]
            why = next((w for v in leaves if (w := _value_problem(arg, v, others, evidence))), "")
            entries.append({"name": arg, "value_ok": not why, "reason": why or "stated"})
            if why:
                bad.append(f"{name}.{arg} {why}")
        graded.append({"tool": name, "arguments": entries, "call_ok": True})
    scenario = sections.get("Meant to show", "").split(":")[0]
    decision_ok = (
        (not calls) if scenario in ("no_tool", "ambiguous") else bool(calls) or not scenario
    )
    intent = None
    if "Original request" in sections:
        o_users, o_calls, _, _ = _transcript(sections["Original request"])
        stated = [
            v
            for _, a in o_calls
            for v in _leaves(a)
            if o_users and v.casefold() in o_users[0].casefold()
        ]
        intent = all(v.casefold() in (users[0] if users else "").casefold() for v in stated)
    ok = not bad and decision_ok and intent is not False
    reason = "every value is in the user's words" if ok else "unsupported: " + ", ".join(bad)
    if not decision_ok:
        reason = "calling or not calling does not fit the scenario"
    elif intent is False:
        reason = "the paraphrase dropped a value of the original"
    score = round(0.55 + 0.45 * rng.random(), 3) if ok else round(0.3 * rng.random(), 3)
    return {
        "calls": graded,
        "call_decision_ok": decision_ok,
        "answer_truthful": True if (answered and outputs) else None,
        "intent_kept": intent,
        "reason": reason if not ok or score >= 0.8 else reason + "; the answer is vague",
        "score": score,
    }


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
        if body["response_format"]["json_schema"].get("name") == "judge_verdict":
            data = _verdict(prompt, rng)
        elif "paraphrases" in schema.get("properties", {}):
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


class OddUsageModel(FakeModel):
    """FakeModel behind a compatible server that shapes ``usage`` its own way (test double).

    Chosen by a hash of the request: usage missing, counts as floats (12.0) with
    extra entries (a ``queue_time``, an object, null details), or, for about one
    request in six, ``"usage": "n/a"`` (a malformed body every time it is asked).
    """

    def __call__(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        status, out = super().__call__(body)
        pick = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).digest()[0] % 6
        usage = out["usage"]
        if pick == 0:
            out["usage"] = "n/a"
        elif pick == 1:
            del out["usage"]
        elif pick in (2, 3):
            out["usage"] = {
                **{k: float(v) for k, v in usage.items()},
                "queue_time": 0.0123,
                "x_groq": {"id": "req_1"},
                "prompt_tokens_details": None,
                "completion_tokens_details": {"reasoning_tokens": 0.0, "note": "ok"},
            }
        return status, out


class SlowFakeModel(FakeModel):
    """FakeModel taking 5 s per request without a way to cut it short, like a real model
    in the middle of a generation (test double). With ``FORGE_TEST_BUSY_MARK`` set, it
    writes that file as each request starts (so a test knows one is running)."""

    def __init__(self) -> None:
        super().__init__(delay=5.0)

    def __call__(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        mark = os.environ.get("FORGE_TEST_BUSY_MARK")
        if mark:
            Path(mark).write_text("busy")
        return super().__call__(body)


_HELD: list[Any] = []  # freed only when the interpreter tears its modules down


class SlowExitFakeModel(SlowFakeModel):
    """SlowFakeModel (1 s per request) that, like the real model, takes a while to free when
    the interpreter exits (test double): it stays referenced from this module until then,
    and its release takes 3 s, after writing ``FORGE_TEST_EXIT_MARK`` if that is set (so a
    test knows the process is tearing down). Python has reset its signal handlers to the
    default by then."""

    def __init__(self) -> None:
        FakeModel.__init__(self, delay=1.0)
        self.exit_mark = os.environ.get("FORGE_TEST_EXIT_MARK")
        _HELD.append(self)

    def __del__(self, _open: Any = open, _sleep: Any = time.sleep) -> None:
        if self.exit_mark:
            with _open(self.exit_mark, "w") as fh:
                fh.write("tearing down")
        _sleep(3.0)
