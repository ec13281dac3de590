"""The synthetic cap: how many paraphrases may join the dataset, and which ones.

Training on too large a synthetic share risks model collapse, so paraphrases are
capped to ``cap`` of the final mix, computed exactly (Fraction of the decimal the user
wrote: 7 seeds at 0.30 allow 3 paraphrases, 3/10 = 0.30, not 2). Which paraphrases:

* the scenario mix of the seeds is kept: each scenario's quota is proportional to its
  seed count (largest remainder); quota a scenario cannot use flows to the others;
* within a scenario, parents take turns (round-robin), so one seed does not take the
  whole budget; within a round the most novel pick goes first;
* within a parent, farthest-first: first the paraphrase least similar to its seed,
  then the one least similar to the seed and the siblings already picked.

Similarities are computed by the caller (``candidates`` does it from texts), so this
module needs no text. Ties go to the stable order; the same input gives the same output.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

from . import dedup
from .config import SCENARIOS

# Word unigrams grade rewordings finely; the bigram Jaccard of two real rewordings is
# often 0 (bench/shingles.py, "reworded" rows), which would leave the choice to ties.
NOVELTY_SHINGLES = "word1"


@dataclass(frozen=True, slots=True)
class Candidate:
    """One paraphrase that passed every check and dedup."""

    id: str
    parent: str  # the seed it rewrites
    scenario: str
    novelty: float  # 1 - similarity to its seed
    siblings: dict[str, float] = field(default_factory=dict)  # sibling id -> similarity
    order: int = -1  # stable position for ties and output; -1: its place in the input


def candidates(
    parent: str, seed_text: str, items: list[tuple[str, str, str]], kind: str = NOVELTY_SHINGLES
) -> list[Candidate]:
    """Candidates of one seed from (id, scenario, user text) of its paraphrases, with
    exact Jaccard similarities to the seed and to each other."""
    seed = dedup.shingle(seed_text, kind)
    sets = [dedup.shingle(text, kind) for _, _, text in items]
    out = []
    for i, (cid, scenario, _) in enumerate(items):
        sims = {items[j][0]: _jaccard(sets[i], sets[j]) for j in range(len(items)) if j != i}
        out.append(Candidate(cid, parent, scenario, 1.0 - _jaccard(sets[i], seed), sims))
    return out


def _jaccard(a: set[bytes], b: set[bytes]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def max_synthetic(non_synthetic: int, cap: float) -> int:
    """The largest P with P / (non_synthetic + P) <= cap, in exact arithmetic."""
    c = Fraction(str(cap))
    if non_synthetic <= 0 or c <= 0:
        return 0
    if c >= 1:
        raise ValueError(f"synthetic cap must be below 1, got {cap}")
    return math.floor(c * non_synthetic / (1 - c))


def select(
    candidates: list[Candidate],
    seed_counts: dict[str, int],
    cap: float,
    *,
    non_synthetic: int | None = None,
) -> list[str]:
    """Ids of the paraphrases to keep, in stable order.

    ``seed_counts``: kept non-synthetic samples per scenario (the mix to keep);
    ``non_synthetic``: their total when it differs from the sum (default: the sum).
    """
    total = sum(seed_counts.values()) if non_synthetic is None else non_synthetic
    budget = min(max_synthetic(total, cap), len(candidates))
    if budget <= 0:
        return []
    ordered = sorted(enumerate(candidates), key=lambda ic: (ic[1].order, ic[0]))
    position = {c.id: n for n, (_, c) in enumerate(ordered)}
    by_scenario: dict[str, list[Candidate]] = {}
    for _, c in ordered:
        by_scenario.setdefault(c.scenario, []).append(c)
    quotas = allocate(budget, seed_counts, {s: len(cs) for s, cs in by_scenario.items()})
    picked: list[Candidate] = []
    for scenario, group in by_scenario.items():
        if quotas.get(scenario):
            picked.extend(c for c, _ in rank(group, position)[: quotas[scenario]])
    return [c.id for c in sorted(picked, key=lambda c: position[c.id])]


def _scenario_key(name: str) -> tuple[int, str]:
    return (SCENARIOS.index(name) if name in SCENARIOS else len(SCENARIOS), name)


def largest_remainder(total: int, weights: dict[str, int]) -> dict[str, int]:
    """Split ``total`` proportionally to ``weights``, exactly; equal remainders go by
    scenario order."""
    wsum = sum(w for w in weights.values() if w > 0)
    if total <= 0 or wsum <= 0:
        return dict.fromkeys(weights, 0)
    exact = {k: Fraction(total * max(w, 0), wsum) for k, w in weights.items()}
    counts = {k: math.floor(q) for k, q in exact.items()}
    left = total - sum(counts.values())
    for k in sorted(exact, key=lambda k: (-(exact[k] - counts[k]), _scenario_key(k)))[:left]:
        counts[k] += 1
    return counts


def allocate(budget: int, seed_counts: dict[str, int], available: dict[str, int]) -> dict[str, int]:
    """Quota per scenario: proportional to seed counts, capped by what is available;
    what a scenario cannot use is split again among the others (equally when none of
    them has seeds)."""
    names = sorted(set(seed_counts) | set(available), key=_scenario_key)
    alloc = dict.fromkeys(names, 0)
    open_ = names
    while open_ and budget > sum(alloc.values()):
        weights = {s: max(seed_counts.get(s, 0), 0) for s in open_}
        if not any(weights.values()):
            weights = dict.fromkeys(open_, 1)
        split = largest_remainder(budget - sum(alloc.values()), weights)
        for s, share in split.items():
            alloc[s] += min(share, available.get(s, 0) - alloc[s])
        open_ = [s for s in open_ if alloc[s] < available.get(s, 0)]
    return {s: n for s, n in alloc.items() if n}


def rank(group: list[Candidate], position: dict[str, int]) -> list[tuple[Candidate, float]]:
    """One scenario's candidates in pick order, each with its novelty when picked:
    round r takes the r-th farthest-first pick of every parent, most novel first."""
    parents: dict[str, list[Candidate]] = {}
    for c in group:
        parents.setdefault(c.parent, []).append(c)
    sequences = [farthest_first(cs, position) for cs in parents.values()]
    out: list[tuple[Candidate, float]] = []
    for r in range(max((len(s) for s in sequences), default=0)):
        round_ = [s[r] for s in sequences if len(s) > r]
        out.extend(sorted(round_, key=lambda cn: (-cn[1], position[cn[0].id])))
    return out


def farthest_first(
    siblings: list[Candidate], position: dict[str, int]
) -> list[tuple[Candidate, float]]:
    """Siblings in farthest-first order; novelty = 1 - max similarity to the seed and
    to the siblings picked before."""
    novelty = {c.id: c.novelty for c in siblings}
    remaining = list(siblings)
    out = []
    while remaining:
        pick = max(remaining, key=lambda c: (novelty[c.id], -position[c.id]))
        remaining.remove(pick)
        out.append((pick, novelty[pick.id]))
        for c in remaining:
            similar = max(c.siblings.get(pick.id, 0.0), pick.siblings.get(c.id, 0.0))
            novelty[c.id] = min(novelty[c.id], 1.0 - similar)
    return out
