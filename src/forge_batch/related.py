"""Which tools are related to which: Jaccard similarity of name words and parameter names.

Paired scenarios (a partner tool) and bounded catalogues (the look-alikes that
make no_tool and ambiguous requests hard) both need "the tools most like this
one". Comparing every pair in Python took 45 s for 3,000 tools; here each
tool's word set is computed once, an inverted index maps a word to the tools
that have it, and one tool's overlap with all others is a few numpy additions
over the posting lists of its own words. The ranking is exactly the pairwise
one (score descending, then file order), so plans do not change.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from .tools import Tool

_WORD = re.compile(r"[A-Za-z][a-z]*|[0-9]+")


def words(tool: Tool) -> frozenset[str]:
    """Lower-cased name words plus ``param:<name>`` for every parameter."""
    found = {w.lower() for w in _WORD.findall(tool.export_name)}
    found |= {f"param:{p}" for p in tool.parameters.get("properties", {}) or {}}
    return frozenset(found)


class Relatedness:
    """An inverted index over one tool tuple; ``top(i, k)`` ranks the others."""

    def __init__(self, tools: tuple[Tool, ...]) -> None:
        self.tools = tools
        self.names = [t.export_name for t in tools]
        vocab: dict[str, int] = {}
        self.word_ids: list[np.ndarray] = []
        postings: list[list[int]] = []
        for pos, tool in enumerate(tools):
            ids = []
            for w in sorted(words(tool)):
                wid = vocab.setdefault(w, len(vocab))
                if wid == len(postings):
                    postings.append([])
                postings[wid].append(pos)
                ids.append(wid)
            self.word_ids.append(np.array(ids, dtype=np.int64))
        self.postings = [np.array(p, dtype=np.int64) for p in postings]
        self.sizes = np.array([len(ids) for ids in self.word_ids], dtype=np.int64)

    def scores(self, pos: int) -> np.ndarray:
        """Jaccard score of tool ``pos`` against every tool (0 for itself and same names)."""
        shared = np.zeros(len(self.tools), dtype=np.int64)
        for wid in self.word_ids[pos]:
            shared[self.postings[wid]] += 1  # a posting list holds each tool once
        union = np.maximum(1, self.sizes[pos] + self.sizes - shared)
        score = shared / union
        score[pos] = 0.0
        return score

    def top(self, pos: int, limit: int) -> list[int]:
        """Positions of the ``limit`` most related tools with a score above 0,
        best first, ties in file order (what sorting every pair would give)."""
        if limit <= 0:
            return []
        score = self.scores(pos)
        name = self.names[pos]
        cand = np.flatnonzero(score > 0)
        if len(cand) > limit:
            cut = np.partition(score[cand], -limit)[-limit]
            above = cand[score[cand] > cut]
            ties = cand[score[cand] == cut][: limit - len(above) + 1]
            cand = np.concatenate([above, ties])
        order = sorted(cand.tolist(), key=lambda p: (-score[p], p))
        return [p for p in order if self.names[p] != name][:limit]


@lru_cache(maxsize=4)
def index(tools: tuple[Tool, ...]) -> Relatedness:
    """One index per tool tuple (tools hash by identity, so this is cheap)."""
    return Relatedness(tools)
