"""The judge stage's pure parts: [judge] config, the request body, verdicts, the double."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from doubles import FakeModel
from strict_rules import body_violations

from forge_batch import config as C
from forge_batch import judge_prompt as J
from forge_batch import verdict as V
from forge_batch.errors import ConfigError

DATA = Path(__file__).parent / "data"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather of a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
            "required": ["city"],
        },
    },
}
AREA = {
    "type": "function",
    "function": {
        "name": "triangle_area",
        "parameters": {
            "type": "object",
            "properties": {"base": {"type": "number"}, "height": {"type": "number"}},
            "required": ["base", "height"],
        },
    },
}


def cfg(tmp_path: Path, **values: Any) -> C.Config:
    return C.from_dict(
        {"tools": str(DATA / "mcp-filesystem.tools.json"), **values}, tmp_path / "forge.toml"
    )


def conversation(user: str, name: str, args: dict[str, Any], result: Any) -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": user},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": name, "arguments": json.dumps(args)},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": json.dumps(result)},
        {"role": "assistant", "content": "Here you go: " + json.dumps(result)},
    ]


NYC = conversation(
    "What's the weather in New York City right now?",
    "get_weather",
    {"city": "New York City"},
    {"temp_c": 18},
)


# -- config ---------------------------------------------------------------------


def test_judge_defaults_follow_the_generation_model(tmp_path: Path) -> None:
    c = cfg(tmp_path, model="gpt-4o-mini")
    assert c.judge == C.Judge(True, "gpt-4o-mini", 0.8, "all", 1024)
    c = cfg(tmp_path, model="gpt-4o-mini", judge={"model": "gpt-4.1", "scope": "doubtful"})
    assert (c.judge.model, c.judge.scope, c.model) == ("gpt-4.1", "doubtful", "gpt-4o-mini")
    assert not cfg(tmp_path, judge={"enabled": False}).judge.enabled


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"threshold": 1.5}, "judge.threshold: must be between 0 and 1, got 1.5"),
        ({"threshold": "high"}, "judge.threshold: expected number"),
        ({"scope": "some"}, "judge.scope: must be one of all, doubtful, got 'some'"),
        ({"enabled": "yes"}, "judge.enabled: expected true or false"),
        ({"model": " "}, "judge.model: must not be empty"),
        ({"max_tokens": 4}, "judge.max_tokens: must be between 16 and 200000, got 4"),
        ({"treshold": 0.5}, "judge.treshold: unknown key (did you mean 'threshold'?)"),
    ],
)
def test_bad_judge_values_name_the_key(tmp_path: Path, values: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        cfg(tmp_path, judge=values)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert str(tmp_path / "forge.toml") in str(info.value)


# -- the request body -----------------------------------------------------------


def body(tmp_path: Path, messages: list[dict[str, Any]] = NYC, **values: Any) -> dict[str, Any]:
    return J.render_judge(messages, [WEATHER], cfg(tmp_path, **values), scenario="standard")


def test_the_body_is_a_strict_batch_body_with_the_rubric_first(tmp_path: Path) -> None:
    b = body(tmp_path)
    assert body_violations(b) == []
    assert b["response_format"]["json_schema"]["strict"] is True
    assert b["messages"][0] == {"role": "system", "content": J.JUDGE_SYSTEM}
    user = b["messages"][1]["content"]
    # static first: tools, then the conversation; no call ids (they come from sample ids)
    assert user.index("Tools:") < user.index("Conversation:")
    assert 'assistant calls get_weather {"city": "New York City"}' in user
    assert "call_1" not in user and "tool get_weather returned:" in user
    assert b["temperature"] == 0.0 and b["max_completion_tokens"] == 1024


def test_the_threshold_is_not_in_the_request_and_the_judge_model_is(tmp_path: Path) -> None:
    key = J.judge_canonical(body(tmp_path))[0]
    assert J.judge_canonical(body(tmp_path, judge={"threshold": 0.3}))[0] == key
    assert J.judge_canonical(body(tmp_path, judge={"model": "other"}))[0] != key
    # the generation model reaches the judge body only as the judge model's default
    pinned = {"model": "SmolLM2-135M-Instruct"}
    assert J.judge_canonical(body(tmp_path, model="gpt-4o-mini", judge=pinned))[0] == key


def test_reasoning_judges_get_the_lowest_effort_and_room_for_it(tmp_path: Path) -> None:
    b = body(tmp_path, judge={"model": "gpt-5-mini"})
    assert "temperature" not in b and b["reasoning_effort"] == "minimal"
    assert b["max_completion_tokens"] == 1024 + 1_000  # the answer plus minimal's allowance


def test_doubts_and_the_seed_of_a_paraphrase_are_shown(tmp_path: Path) -> None:
    ref = J.Reference("Weather for New York City?", (("get_weather", '{"city":"New York City"}'),))
    b = J.render_judge(
        NYC, [WEATHER], cfg(tmp_path), reference=ref, doubts=["city: 'New' is suspect"]
    )
    user = b["messages"][1]["content"]
    assert user.index("Conversation:") < user.index("Original request") < user.index("Notes")
    assert "calls get_weather" in user.split("Original request")[1]
    assert "- city: 'New' is suspect" in user
    assert "Meant to show" not in user  # unlabelled (a real record): judged on fit alone


# -- verdicts ---------------------------------------------------------------------


def verdict(**over: Any) -> dict[str, Any]:
    data = {
        "calls": [
            {
                "tool": "get_weather",
                "arguments": [{"name": "city", "value_ok": True, "reason": "stated"}],
                "call_ok": True,
            }
        ],
        "call_decision_ok": True,
        "answer_truthful": True,
        "intent_kept": None,
        "reason": "good",
        "score": 0.9,
    }
    data.update(over)
    return data


EXPECTED = V.Expected.of(NYC, paraphrase=False)


def outcome(data: Any, expected: V.Expected = EXPECTED, threshold: float = 0.8) -> Any:
    found, problem = V.read_verdict(json.dumps(data), expected)
    return problem if found is None else V.decide(found, threshold)


def test_a_good_verdict_keeps_the_sample_at_and_above_the_threshold() -> None:
    assert outcome(verdict()) is None
    assert outcome(verdict(score=0.8)) is None
    check, reason = outcome(verdict(score=0.79))
    assert check == "judge" and reason.startswith("score 0.790 (threshold 0.8); score below")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (
            {
                "calls": [
                    {
                        "tool": "get_weather",
                        "arguments": [{"name": "city", "value_ok": False, "reason": "cut short"}],
                        "call_ok": True,
                    }
                ]
            },
            "argument value not ok: get_weather.city (cut short)",
        ),
        ({"call_decision_ok": False}, "calling or not calling was wrong"),
        ({"answer_truthful": False}, "answer not truthful"),
    ],
)
def test_a_hard_failure_rejects_whatever_the_score(change: dict, words: str) -> None:
    check, reason = outcome(verdict(score=1.0, **change))
    assert check == "judge" and words in reason and reason.endswith("judge: good")


def test_a_paraphrase_must_keep_its_intent() -> None:
    para = V.Expected.of(NYC, paraphrase=True)
    assert outcome(verdict(intent_kept=True), para) is None
    assert "paraphrase changed the intent" in outcome(verdict(intent_kept=False), para)[1]
    assert "intent_kept is null" in outcome(verdict(), para)
    assert outcome(verdict(intent_kept=False)) is None  # not a paraphrase: not asked


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ("not json", "not valid JSON"),
        (verdict(score=1.2), "outside [0, 1]"),
        (verdict(score="high"), "score is not a number"),
        (verdict(call_decision_ok=None), "call_decision_ok is not true/false"),
        (verdict(calls=[]), "the sample makes ['get_weather']"),
        (
            verdict(calls=[{"tool": "get_weather", "arguments": [], "call_ok": True}]),
            "argument(s) city not graded",
        ),
        (verdict(answer_truthful=None), "answer_truthful is null"),
    ],
)
def test_an_unusable_verdict_is_a_problem_not_a_keep(data: Any, words: str) -> None:
    content = data if isinstance(data, str) else json.dumps(data)
    found, problem = V.read_verdict(content, EXPECTED)
    assert found is None and words in problem


# -- the test double ------------------------------------------------------------------


def judged(tmp_path: Path, messages: list[dict[str, Any]], tools: list[dict], **kw: Any) -> Any:
    b = J.render_judge(messages, tools, cfg(tmp_path), scenario="standard", **kw)
    status, response = FakeModel()(json.loads(json.dumps(b)))
    assert status == 200
    content = response["choices"][0]["message"]["content"]
    found, problem = V.read_verdict(content, V.Expected.of(messages, "reference" in kw))
    assert problem is None, problem
    return found


def test_the_double_grades_swapped_cut_and_invented_values(tmp_path: Path) -> None:
    area = "Area of a triangle with base 10 and height 5, please."
    good = judged(
        tmp_path, conversation(area, "triangle_area", {"base": 10, "height": 5}, 25), [AREA]
    )
    swapped = conversation(area, "triangle_area", {"base": 5, "height": 10}, 25)
    assert not good.failures and good.score >= 0.55
    assert ("value", "triangle_area.base (swapped with another argument)") in judged(
        tmp_path, swapped, [AREA]
    ).failures
    cut = conversation(NYC[0]["content"], "get_weather", {"city": "New"}, {"temp_c": 18})
    assert judged(tmp_path, cut, [WEATHER]).failures == (("value", "get_weather.city (cut short)"),)
    made_up = conversation(NYC[0]["content"], "get_weather", {"city": "Boston"}, {"temp_c": 18})
    assert judged(tmp_path, made_up, [WEATHER]).score < 0.3


def test_the_double_checks_a_paraphrase_against_its_seed(tmp_path: Path) -> None:
    ref = J.Reference(NYC[0]["content"], (("get_weather", '{"city": "New York City"}'),))
    para = [{"role": "user", "content": "Weather in New York City?"}, *NYC[1:]]
    assert judged(tmp_path, para, [WEATHER], reference=ref).failures == ()
    lost = [{"role": "user", "content": "How's the weather?"}, *NYC[1:]]
    failures = judged(tmp_path, lost, [WEATHER], reference=ref).failures
    assert ("intent", "") in failures


def test_the_double_scores_clean_samples_on_both_sides_of_the_threshold(tmp_path: Path) -> None:
    scores = [
        judged(
            tmp_path,
            conversation(f"Weather in Paris, unit {u}?", "get_weather", {"city": "Paris"}, u),
            [WEATHER],
        ).score
        for u in range(40)
    ]
    assert min(scores) < 0.8 <= max(scores)


def test_tools_text_memo_keeps_json_dumps_text() -> None:
    """The memo (keyed by orjson bytes) must give json.dumps's text, for any key order,
    and cope with what orjson cannot encode (an integer past 64 bits)."""
    from forge_batch.judge_prompt import tools_text

    def plain(tools: list[dict[str, Any]]) -> str:
        return "\n".join(
            json.dumps(t["function"], ensure_ascii=False, sort_keys=True, separators=(",", ":"))
            for t in tools
        )

    fn = {"name": "f", "description": "naïve", "parameters": {"type": "object", "b": 1.5, "a": 1}}
    flipped = {"parameters": dict(reversed(list(fn["parameters"].items()))), **fn}
    huge = {"name": "g", "parameters": {"type": "object", "maximum": 2**70}}
    for tools in ([{"function": fn}], [{"function": flipped}], [{"function": huge}]) * 2:
        assert tools_text(tools) == plain(tools)


def test_a_lean_spec_is_a_digest_and_an_offset_whatever_the_spec_holds(tmp_path: Path) -> None:
    """``Stage.lean`` keeps 16 bytes of digest and a spool offset, however long the seed's
    text or the judged sample; it equals (and hashes as) the lean form of the same spec
    made without a spool, so the request index finds the key of either, and ``filled``
    gives the spec back."""
    from forge_batch.judge_prompt import Reference
    from forge_batch.spool import spool
    from forge_batch.stages import JUDGE, PARAPHRASE, JudgeSpec, Lean, ParaphraseSpec

    long_text = "turn the lights off in the kitchen " * 200
    specs = [
        (PARAPHRASE, ParaphraseSpec("s-1", "single", long_text, ("kitchen",) * 50)),
        (JUDGE, JudgeSpec("x" * 5000, "single", ("doubt",), Reference(long_text, (("t", "{}"),)))),
    ]
    with spool(tmp_path) as scratch:
        for stage, spec in specs:
            lean = stage.lean(spec, scratch)
            assert type(lean) is Lean and len(lean.digest) == 16 and lean.at >= 0
            assert stage.lean(lean) is lean
            assert lean == stage.lean(spec) and hash(lean) == hash(stage.lean(spec))
            assert stage.filled(lean, scratch) == spec
            assert stage.filled(spec, scratch) is spec
        other = PARAPHRASE.lean(ParaphraseSpec("s-1", "single", long_text + ".", ()))
        assert other != PARAPHRASE.lean(specs[0][1])
