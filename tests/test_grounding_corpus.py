"""The rule layer over the labelled grounding corpus (tests/data/grounding_corpus.jsonl,
written by tests/make_grounding_corpus.py): with the judge off, at most 3% of the
correct conversations are rejected, and every wrong one is rejected or doubted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from make_grounding_corpus import build, lines

from forge_batch.checks import CheckContext, assess, check_sample
from forge_batch.records import Sample

CORPUS = Path(__file__).resolve().parent / "data" / "grounding_corpus.jsonl"


def _load() -> list[dict[str, Any]]:
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]


def test_the_committed_corpus_is_what_the_generator_writes() -> None:
    assert CORPUS.read_text(encoding="utf-8") == "\n".join(lines(build())) + "\n"


def test_the_corpus_has_every_kind() -> None:
    records = _load()
    correct = [r for r in records if r["label"] == "correct"]
    wrong = {r["kind"] for r in records if r["label"] == "wrong"}
    kinds = {k for r in correct for k in r["kind"].split("+")}
    assert len(records) >= 300
    assert wrong == {"swapped", "cut_short", "hallucinated", "wrong_normalization"}
    assert {
        "place_qualified",
        "date_iso",
        "enum_words",
        "code_ticker",
        "code_currency",
        "maths_code",
        "default_description",
        "zero_implied",
        "number_worked",
        "airport_code",
        "number_words",
        "number_notation",
        "number_units",
        "from_tool_result",
    } <= kinds


def test_rule_layer_rates(capsys: pytest.CaptureFixture[str]) -> None:
    ctx = CheckContext.build()  # judge off: a doubt rejects
    records = _load()
    rejected_correct, passed_wrong = [], []
    n_correct = n_wrong = 0
    for record in records:
        sample = Sample.from_json(record["sample"])
        got = check_sample(sample, ctx)
        if record["label"] == "correct":
            n_correct += 1
            if got is not None:
                rejected_correct.append((record["id"], record["kind"], got))
        else:
            n_wrong += 1
            if got is None:
                passed_wrong.append((record["id"], record["kind"]))
    caught = n_wrong - len(passed_wrong)
    with capsys.disabled():
        print(
            f"\ngrounding corpus: correct rejected {len(rejected_correct)}/{n_correct} "
            f"({100 * len(rejected_correct) / n_correct:.1f}%), wrong rejected or doubted "
            f"{caught}/{n_wrong} ({100 * caught / n_wrong:.1f}%)"
        )
        for item in rejected_correct:
            print("  correct rejected:", *item)
        for item in passed_wrong:
            print("  wrong kept:", *item)
    assert len(rejected_correct) <= 0.03 * n_correct
    assert not passed_wrong


def test_assess_agrees_with_check_sample() -> None:
    """With the judge off, check_sample returns assess's failure or its first doubt."""
    off, on = CheckContext.build(), CheckContext.build(judge=True)
    for record in _load():
        sample = Sample.from_json(record["sample"])
        a = assess(sample, off)
        got = check_sample(sample, off)
        if a.failure is None and a.doubts:
            name, _, reason = a.doubts[0].partition(": ")
            assert got == (name, reason), record["id"]
        elif a.failure is not None and not a.doubts:
            assert got == a.failure
        assert check_sample(sample, on) == a.failure
