"""dedup.py: exact and near duplicates over user turns; first wins."""

from __future__ import annotations

import pytest

from forge_batch.dedup import SHINGLE_KINDS, Deduper, lsh_params, normalize, shingle, similarity

LONG = (
    "Please send an email to Maria Lopez saying the quarterly budget review with the "
    "finance team moves from Tuesday morning to Thursday afternoon at 3pm in room 4B"
)


def test_normalize_folds_case_punctuation_and_spaces() -> None:
    assert normalize("  What's   the WEATHER, in Paris?! ") == "whats the weather in paris"


@pytest.mark.parametrize("kind", SHINGLE_KINDS)
def test_shingle_kinds(kind: str) -> None:
    got = shingle("Book a table for 4", kind)
    assert got and all(isinstance(s, bytes) for s in got)
    assert shingle("", kind) == set()
    assert shingle("Hi", kind) == {b"hi"}  # shorter than one shingle: the whole text


def test_shingles_are_what_they_say() -> None:
    assert shingle("a b c", "word2") == {b"a b", b"b c"}
    assert shingle("a b c", "word1") == {b"a", b"b", b"c"}
    assert shingle("abcd", "char3") == {b"abc", b"bcd"}
    with pytest.raises(ValueError, match="unknown shingle kind"):
        shingle("x", "word9")


def test_similarity_is_jaccard_of_shingles() -> None:
    assert similarity("a b c", "a b c") == 1.0
    assert similarity("a b c", "a b d") == pytest.approx(1 / 3)  # {a b, b c} vs {a b, b d}
    assert similarity("x y", "p q") == 0.0


def test_exact_duplicate_after_normalization() -> None:
    d = Deduper()
    assert d.check_and_add("a", "What's the weather in Paris?") is None
    assert d.check_and_add("b", "what's   the weather in PARIS") == "a"
    assert len(d) == 1  # a duplicate is not indexed


def test_near_duplicate_above_the_threshold() -> None:
    d = Deduper(threshold=0.8)
    near = LONG.replace("Please send", "Send")  # 1 of 27 bigrams differs: J ~ 0.93
    assert similarity(LONG, near) > 0.9
    assert d.check_and_add("seed", LONG) is None
    assert d.check_and_add("para", near) == "seed"


def test_below_the_threshold_is_kept() -> None:
    d = Deduper(threshold=0.8)
    other = LONG.replace("Maria Lopez", "Tom Becker").replace("room 4B", "room 7C")
    assert similarity(LONG, other) < 0.8
    assert d.check_and_add("a", LONG) is None
    assert d.check_and_add("b", other) is None


def test_different_requests_are_kept() -> None:
    d = Deduper()
    texts = [
        "What's the weather in Paris for the next 3 days?",
        "What's the weather in Lyon for the next 5 days?",
        "Book a table for 4 at an Italian place in Austin at 19:30.",
        "Convert 250 miles to kilometers.",
        "Track UPS shipment 1Z99881234.",
        "Send an email to Tom Becker saying the offsite moves to Friday.",
    ]
    assert [d.check_and_add(str(i), t) for i, t in enumerate(texts)] == [None] * len(texts)
    assert len(d) == len(texts)


def test_seed_wins_over_its_paraphrase_in_precedence_order() -> None:
    d = Deduper()
    seed, paraphrase = LONG, LONG.lower() + "!"
    assert d.check_and_add("seed-1", seed) is None
    assert d.check_and_add("seed-1-p0", paraphrase) == "seed-1"


def test_a_paraphrase_too_close_to_its_own_seed_is_a_duplicate() -> None:
    d = Deduper()
    seed = "Hi! Please email Grace Kim that the launch meeting moves to Wednesday at 10:30."
    close = "Please email Grace Kim that the launch meeting moves to Wednesday at 10:30, thanks"
    reworded = (
        "Can you let Grace Kim know by email that we now meet about the launch on Wednesday, 10:30?"
    )
    assert d.check_and_add("seed", seed) is None
    assert d.check_and_add("p0", close) == "seed"
    assert d.check_and_add("p1", reworded) is None  # a real rewording is what we want


def test_the_most_similar_earlier_sample_is_named() -> None:
    d = Deduper(threshold=0.7)
    base = LONG
    d.check_and_add("far", base.replace("Maria Lopez", "Ana Silva").replace("4B", "9Z"))
    d.check_and_add("near", base.replace("finance team", "finance group"))
    assert d.check_and_add("q", base) == "near"


def test_deterministic_across_instances() -> None:
    texts = [
        f"{LONG} {i % 7}" if i % 3 else f"request number {i} for city {i * 7}" for i in range(300)
    ]

    def run() -> list[str | None]:
        d = Deduper()
        return [d.check_and_add(f"id{i}", t) for i, t in enumerate(texts)]

    first = run()
    assert first == run()
    assert any(first) and not all(first)


def test_many_samples_fold_into_arrays_and_still_match() -> None:
    def text(i: int) -> str:
        return f"order {i} for customer C{i * 13} in city {i % 97} with note {i * 7919}"

    d = Deduper()
    n = 9000  # 9 bands each: past the dict buffer, so lookups hit the sorted arrays
    for i in range(n):
        assert d.check_and_add(f"s{i}", text(i)) is None
    assert len(d._bands._keys) > 0  # folded
    assert d.check_and_add("again", text(17).upper()) == "s17"
    assert d.check_and_add("near", text(4321) + " please") == "s4321"  # J = 0.9


def test_lsh_params_come_from_datasketch() -> None:
    bands, rows = lsh_params(0.8, 128)
    assert bands * rows <= 128 and bands >= 2


def test_would_flag_matches_the_index() -> None:
    d = Deduper()
    assert d.would_flag(LONG, LONG.lower())
    assert not d.would_flag(LONG, "Convert 250 miles to kilometers.")
