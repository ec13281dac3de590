"""merge.py: the synthetic cap, exact at its edge, diverse and deterministic."""

from __future__ import annotations

from fractions import Fraction

import pytest

from forge_batch.merge import (
    Candidate,
    allocate,
    candidates,
    largest_remainder,
    max_synthetic,
    select,
)


def cands(
    parent: str, texts: list[str], scenario: str = "standard", seed: str = ""
) -> list[Candidate]:
    items = [(f"{parent}-p{i}", scenario, t) for i, t in enumerate(texts)]
    return candidates(parent, seed, items)


def plain(n_parents: int, per_parent: int, scenario: str = "standard") -> list[Candidate]:
    out: list[Candidate] = []
    for p in range(n_parents):
        texts = [f"{scenario} request {p} variant {i} words {i * p}" for i in range(per_parent)]
        out += cands(f"{scenario}{p}", texts, scenario)
    return out


# -- the cap -------------------------------------------------------------------------


def test_seven_seeds_at_thirty_percent_allow_three() -> None:
    assert max_synthetic(7, 0.30) == 3  # 3/10 == 0.30 exactly; float math says 2.9999
    assert Fraction(3, 10) <= Fraction("0.30") < Fraction(4, 11)


@pytest.mark.parametrize(
    ("n", "cap", "want"),
    [
        (0, 0.3, 0),
        (7, 0.0, 0),
        (10, 0.5, 10),
        (1, 0.5, 1),
        (3, 0.25, 1),
        (100, 0.3, 42),
        (1000, 0.95, 19000),
        (1, 0.3, 0),
    ],
)
def test_max_synthetic_is_the_largest_share_under_the_cap(n: int, cap: float, want: int) -> None:
    got = max_synthetic(n, cap)
    assert got == want
    c = Fraction(str(cap))
    if n:
        assert Fraction(got, n + got) <= c < Fraction(got + 1, n + got + 1)


def test_select_never_exceeds_the_cap() -> None:
    picked = select(plain(7, 5), {"standard": 7}, 0.30)
    assert len(picked) == 3
    assert select(plain(7, 5), {"standard": 7}, 0.0) == []
    assert len(select(plain(2, 1), {"standard": 100}, 0.3)) == 2  # fewer candidates than room


def test_non_synthetic_includes_real_data() -> None:
    assert len(select(plain(7, 5), {"standard": 7}, 0.30, non_synthetic=14)) == 6


# -- the scenario mix ----------------------------------------------------------------


def test_largest_remainder_is_exact_and_sums_up() -> None:
    assert largest_remainder(3, {"standard": 6, "no_tool": 3, "error": 1}) == {
        "standard": 2,
        "no_tool": 1,
        "error": 0,
    }
    split = largest_remainder(10, {"standard": 1, "no_tool": 1, "parallel": 1})
    assert sum(split.values()) == 10 and split["standard"] == 4  # tie: scenario order


def test_scenario_mix_of_the_seeds_is_kept() -> None:
    pool = plain(6, 4, "standard") + plain(3, 4, "no_tool") + plain(1, 4, "error")
    counts = {"standard": 60, "no_tool": 30, "error": 10}
    picked = select(pool, counts, 0.1, non_synthetic=90)  # 90 non-synthetic -> 10 more
    by = {s: sum(p.startswith(s) for p in picked) for s in counts}
    assert by == {"standard": 6, "no_tool": 3, "error": 1}


def test_unused_quota_flows_to_other_scenarios() -> None:
    pool = plain(6, 4, "standard") + plain(1, 1, "no_tool")  # no_tool has just one
    picked = select(pool, {"standard": 5, "no_tool": 5}, 0.5)  # budget 10
    assert sum(p.startswith("no_tool") for p in picked) == 1
    assert sum(p.startswith("standard") for p in picked) == 9
    assert allocate(4, {"standard": 1}, {"standard": 1, "edge": 10}) == {"standard": 1, "edge": 3}


# -- diversity -----------------------------------------------------------------------

SEED = "what is the weather in paris for the next three days"
NEAR = "what is the weather in paris for the next three days please"
MID = "tell me the weather in paris for the next three days"
FAR = "three day paris forecast, go"


def test_novelty_is_one_minus_similarity_to_the_seed() -> None:
    near, far = cands("s1", [NEAR, FAR], seed=SEED)
    assert near.novelty == pytest.approx(1 - 10 / 11)  # word1: 10 shared of 11
    assert far.novelty > 0.7
    assert near.siblings == {"s1-p1": pytest.approx(2 / 14)}  # {paris, three} of 14 words


def test_farthest_from_the_seed_first_then_from_the_picked() -> None:
    pool = cands("s1", [NEAR, MID, FAR], seed=SEED)
    # at cap 0.5 each counted seed makes room for one paraphrase
    assert select(pool, {"standard": 1}, 0.5) == ["s1-p2"]  # FAR
    # then MID: NEAR is closer to the seed; MID shares few words with FAR
    assert select(pool, {"standard": 2}, 0.5) == ["s1-p1", "s1-p2"]


def test_picked_siblings_count_against_the_next_pick() -> None:
    # b is far from the seed but a copy of the first pick a; c is less far but new
    a = Candidate("a", "s", "standard", 0.9, {"b": 1.0, "c": 0.1})
    b = Candidate("b", "s", "standard", 0.8, {"a": 1.0, "c": 0.1})
    c = Candidate("c", "s", "standard", 0.5, {"a": 0.1, "b": 0.1})
    assert select([a, b, c], {"standard": 2}, 0.5) == ["a", "c"]


def test_round_robin_across_parents() -> None:
    pool = cands("a", ["alpha one", "alpha two", "alpha three"], seed="x") + cands(
        "b", ["beta one", "beta two", "beta three"], seed="alpha one"
    )
    picked = select(pool, {"standard": 2}, 0.5)
    assert {p.split("-")[0] for p in picked} == {"a", "b"}


def test_a_round_takes_the_most_novel_parent_first() -> None:
    pool = cands("a", [NEAR], seed=SEED) + cands("b", [FAR], seed=SEED)
    assert select(pool, {"standard": 1}, 0.5) == ["b-p0"]


def test_ties_go_to_the_stable_order() -> None:
    pool = cands("a", ["same words here"] * 3)
    assert select(pool, {"standard": 1}, 0.5) == ["a-p0"]
    flipped = [
        Candidate(c.id, c.parent, c.scenario, c.novelty, c.siblings, 9 - i)
        for i, c in enumerate(pool)
    ]
    assert select(flipped, {"standard": 1}, 0.5) == ["a-p2"]  # explicit order wins


def test_deterministic() -> None:
    pool = plain(20, 5) + plain(10, 5, "no_tool") + plain(5, 3, "parallel")
    counts = {"standard": 20, "no_tool": 10, "parallel": 5}
    first = select(pool, counts, 0.3)
    assert select(list(pool), dict(reversed(counts.items())), 0.3) == first
    assert len(first) == max_synthetic(35, 0.3) == 15
    index = {c.id: i for i, c in enumerate(pool)}
    assert first == sorted(first, key=index.__getitem__)  # output in stable order
