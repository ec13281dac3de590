"""Exact and near-duplicate removal over the user turns of a sample.

First wins: the caller feeds samples in precedence order (real, then seeds, then
paraphrases, each in a stable order), so a paraphrase never evicts its seed.

* Exact: a hash of the normalized user text (case folded, punctuation dropped,
  whitespace collapsed).
* Near: datasketch MinHash signatures (one set of permutations shared by every
  signature; the shingles of a text hashed in one ``update_batch``) banded as in
  MinHash LSH, with datasketch's band/row split for the threshold. A candidate is
  confirmed only when its estimated Jaccard reaches the threshold.

The band index is ours, not ``MinHashLSH``: measured at 100k indexed samples,
MinHashLSH (dict storage) holds ~3.4 KB per sample, still ~3.0 KB with an 8-byte
band ``hashfunc`` (its cost is a set and a dict entry per band, not the band bytes),
and query+insert takes ~70-100 us. Here band keys are 64-bit ints in sorted numpy
arrays (12 bytes an entry) behind a small dict buffer: ~150 B per sample, ~25 us;
with the exact index, 8-bit signatures (b-bit MinHash) for the confirmation and the
ids, the whole Deduper holds ~400 B per sample.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from functools import lru_cache

import numpy as np

SHINGLE_KINDS: tuple[str, ...] = ("word1", "word2", "word3", "char3", "char4", "char5")
DEFAULT_SHINGLES = "word2"  # see bench/shingles.py for the measurement behind it

_APOSTROPHES = re.compile(r"['\u2019`]")
_PUNCT = re.compile(r"[^\w\s]+")
_BUFFER_LIMIT = 1 << 16  # band-index entries kept in a dict before folding into arrays
_BLOCK = 4096  # signature rows per block
_MIX_SEED = 0x5EED  # band-hash multipliers: fixed, so every run builds the same keys


def normalize(text: str) -> str:
    """Case folded, punctuation dropped, whitespace collapsed ("What's up?" -> "whats up")."""
    folded = _APOSTROPHES.sub("", text.casefold())
    return " ".join(_PUNCT.sub(" ", folded).split())


def shingle(text: str, kind: str = DEFAULT_SHINGLES) -> set[bytes]:
    """The shingle set of ``text``: word n-grams (word1..3) or character n-grams
    (char3..5) of the normalized text; a text shorter than one shingle is one shingle."""
    if kind not in SHINGLE_KINDS:
        raise ValueError(f"unknown shingle kind {kind!r}; one of {', '.join(SHINGLE_KINDS)}")
    return _shingles(normalize(text), kind)


def _shingles(norm: str, kind: str) -> set[bytes]:
    k = int(kind[-1])
    if kind.startswith("word"):
        words = norm.encode().split()  # one encode; n-grams joined in C
        if len(words) <= k:
            return {b" ".join(words)} if words else set()
        return set(map(b" ".join, zip(*(words[i:] for i in range(k)), strict=False)))
    if len(norm) <= k:
        return {norm.encode()} if norm else set()
    return {norm[i : i + k].encode() for i in range(len(norm) - k + 1)}


def similarity(text_a: str, text_b: str, kind: str = DEFAULT_SHINGLES) -> float:
    """Jaccard similarity of the two shingle sets, computed exactly: for two short
    texts that is cheaper than two signatures and has no estimation noise."""
    a, b = shingle(text_a, kind), shingle(text_b, kind)
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


@lru_cache(maxsize=64)
def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) that datasketch's MinHashLSH picks for this threshold."""
    from datasketch import MinHashLSH  # imported late: it pulls in scipy (~0.7 s)

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    return lsh.b, lsh.r


class _Multimap:
    """uint64 key -> sample indices, compact: new entries sit in a dict until it holds
    ``_BUFFER_LIMIT`` of them (or 1/16 of the total), then are merged into sorted
    numpy arrays of keys and values (12 bytes an entry)."""

    def __init__(self) -> None:
        self._buffer: dict[int, int | list[int]] = {}
        self._buffered = 0
        self._keys = np.empty(0, np.uint64)
        self._values = np.empty(0, np.int32)

    def __len__(self) -> int:
        return len(self._keys) + self._buffered

    def get(self, keys: list[int]) -> list[int]:
        """Indices stored under any of ``keys`` (with repeats)."""
        out: list[int] = []
        for key in keys:
            hit = self._buffer.get(key)
            if hit is not None:
                out.extend(hit) if isinstance(hit, list) else out.append(hit)
        if len(self._keys):
            query = np.array(keys, np.uint64)
            lo = np.searchsorted(self._keys, query)
            found = self._keys[np.minimum(lo, len(self._keys) - 1)] == query
            for k in np.flatnonzero(found).tolist():  # usually none
                hi = np.searchsorted(self._keys, query[k], "right")
                out.extend(self._values[lo[k] : hi].tolist())
        return out

    def add(self, keys: list[int], value: int) -> None:
        buffer = self._buffer
        for key in keys:
            hit = buffer.get(key)
            if hit is None:
                buffer[key] = value
            elif isinstance(hit, list):
                hit.append(value)
            else:
                buffer[key] = [hit, value]
        self._buffered += len(keys)
        if self._buffered >= max(_BUFFER_LIMIT, len(self._keys) >> 4):
            self._fold()

    def _fold(self) -> None:
        keys: list[int] = []
        values: list[int] = []
        for key, hit in self._buffer.items():
            if isinstance(hit, list):
                keys.extend([key] * len(hit))
                values.extend(hit)
            else:
                keys.append(key)
                values.append(hit)
        new_keys = np.array(keys, np.uint64)
        order = np.argsort(new_keys, kind="stable")
        new_keys, new_values = new_keys[order], np.array(values, np.int32)[order]
        at = np.searchsorted(self._keys, new_keys, "right")
        self._keys = np.insert(self._keys, at, new_keys)
        self._values = np.insert(self._values, at, new_values)
        self._buffer.clear()
        self._buffered = 0

    def nbytes(self) -> int:
        return self._keys.nbytes + self._values.nbytes


Print = tuple[list[int], list[int], np.ndarray]  # exact hash, band keys, 8-bit signature


class Deduper:
    """Exact, then near-duplicate detection; first wins."""

    def __init__(
        self, threshold: float = 0.8, shingles: str = DEFAULT_SHINGLES, num_perm: int = 128
    ) -> None:
        if shingles not in SHINGLE_KINDS:
            raise ValueError(f"unknown shingle kind {shingles!r}")
        self.threshold, self.shingles, self.num_perm = threshold, shingles, num_perm
        self.bands, self.rows = lsh_params(threshold, num_perm)
        # One MinHash, reset per text: its permutations are made once and shared.
        # crc32 hashes shingles ~4x faster than the default sha1 and datasketch premixes
        # it (fmix32) before the affine permutations (bench/shingles.py: same accuracy).
        from datasketch import MinHash  # late, like MinHashLSH above

        self._minhash = MinHash(num_perm, hashfunc=zlib.crc32)
        rng = np.random.RandomState(_MIX_SEED)
        self._mix = rng.randint(1, 2**62, size=(self.bands, self.rows), dtype=np.uint64) | 1
        self._exact = _Multimap()
        self._bands = _Multimap()
        self._signatures: list[np.ndarray] = []  # blocks of _BLOCK rows: no copy to grow
        self._ids: list[str] = []

    def __len__(self) -> int:
        return len(self._ids)

    def check_and_add(self, sample_id: str, text: str) -> str | None:
        """The id of an earlier sample that ``text`` duplicates, else None (and index it)."""
        return self.check_and_add_print(sample_id, self.fingerprint(text))

    def fingerprint(self, text: str) -> Print:
        """What the index needs of a text; pure, so it can be computed in another process."""
        norm = normalize(text)
        exact = [int.from_bytes(hashlib.blake2b(norm.encode(), digest_size=8).digest(), "little")]
        signature = self._signature(norm)
        return exact, self._band_keys(signature), signature.astype(np.uint8)

    def check_and_add_print(self, sample_id: str, fp: Print) -> str | None:
        """``check_and_add`` of a text by its fingerprint (first wins, in call order)."""
        exact, keys, small = fp
        earlier = self._exact.get(exact)
        if earlier:
            return self._ids[min(earlier)]
        best = self._confirm(self._bands.get(keys), small)
        if best is not None:
            return self._ids[best]
        self._add(sample_id, exact, keys, small)
        return None

    def signature(self, text: str) -> np.ndarray:
        """MinHash values (uint32, ``num_perm`` of them) of the text's shingles."""
        return self._signature(normalize(text))

    def _signature(self, norm: str) -> np.ndarray:
        m = self._minhash
        m.clear()
        m.update_batch(_shingles(norm, self.shingles))
        return m.hashvalues

    def _band_keys(self, signature: np.ndarray) -> list[int]:
        """One 64-bit key per band: a multilinear hash of its rows with odd random
        multipliers of its own, so equal rows in two bands give unrelated keys."""
        rows = signature[: self.bands * self.rows].reshape(self.bands, self.rows)
        return (rows.astype(np.uint64) * self._mix).sum(axis=1, dtype=np.uint64).tolist()

    def _confirm(self, candidates: list[int], small: np.ndarray) -> int | None:
        """The most similar candidate (earliest on ties) whose estimated Jaccard, from
        8-bit signatures, reaches the threshold."""
        if not candidates:
            return None
        index = sorted(set(candidates))
        if len(index) <= 8:  # the usual case: numpy's per-call cost beats vectorizing
            blocks = self._signatures
            matches = [
                int(np.count_nonzero(blocks[i // _BLOCK][i % _BLOCK] == small)) for i in index
            ]
        else:
            rows = np.stack([self._signatures[i // _BLOCK][i % _BLOCK] for i in index])
            matches = (rows == small).sum(axis=1).tolist()
        top = max(matches)
        if self._estimate8(top) < self.threshold - 1e-9:
            return None
        return index[matches.index(top)]  # first maximum = earliest index

    def _estimate8(self, matches: int) -> float:
        """Jaccard from matching 8-bit values (b-bit MinHash): unequal hash values still
        agree on their low 8 bits 1/256 of the time."""
        return (matches / self.num_perm - 1 / 256) / (1 - 1 / 256)

    def _add(self, sample_id: str, exact: list[int], keys: list[int], small: np.ndarray) -> None:
        n = len(self._ids)
        if n % _BLOCK == 0:
            self._signatures.append(np.empty((_BLOCK, self.num_perm), np.uint8))
        self._signatures[-1][n % _BLOCK] = small
        self._exact.add(exact, n)
        self._bands.add(keys, n)
        self._ids.append(sample_id)

    def would_flag(self, earlier: str, later: str) -> bool:
        """Whether ``later`` is a duplicate of ``earlier`` as the index would decide it
        (same normalization, bands and confirmation; for measurements and tests)."""
        norm_a, norm_b = normalize(earlier), normalize(later)
        if norm_a == norm_b:
            return True
        sig_a, sig_b = self._signature(norm_a), self._signature(norm_b)
        keys_a, keys_b = self._band_keys(sig_a), self._band_keys(sig_b)
        if not any(a == b for a, b in zip(keys_a, keys_b, strict=True)):
            return False
        matches = int(np.count_nonzero(sig_a.astype(np.uint8) == sig_b.astype(np.uint8)))
        return self._estimate8(matches) >= self.threshold - 1e-9

    def estimate(self, text_a: str, text_b: str) -> float:
        """Estimated Jaccard of two texts from their full signatures (for diagnostics)."""
        a = self.signature(text_a).copy()
        return float(np.count_nonzero(a == self.signature(text_b))) / self.num_perm
