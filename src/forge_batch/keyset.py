"""A compact membership set of request keys: 8 bytes per key in a sorted array.

Holding a million keys as Python strings costs ~150 MB; their first 64 bits
in a sorted numpy array cost 8 MB and answer a chunk of lookups with one
vectorized search. A collision (two keys sharing 64 bits, ~3e-8 at a million
keys) would only make prepare wait one round for a request.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .keys import fingerprint64


class KeySet:
    def __init__(self, keys: Iterable[str] = ()) -> None:
        values = np.fromiter((fingerprint64(k) for k in keys), dtype=np.uint64)
        self._sorted = np.unique(values)

    def __len__(self) -> int:
        return int(self._sorted.size)

    def contains_many(self, keys: list[str]) -> list[bool]:
        if not self._sorted.size or not keys:
            return [False] * len(keys)
        probe = np.fromiter((fingerprint64(k) for k in keys), dtype=np.uint64, count=len(keys))
        pos = np.searchsorted(self._sorted, probe)
        pos[pos >= self._sorted.size] = 0
        return (self._sorted[pos] == probe).tolist()

    def __contains__(self, key: str) -> bool:
        return self.contains_many([key])[0]
