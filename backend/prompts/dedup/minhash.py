"""One-permutation MinHash signatures of shingle hashes and the LSH band keys made of them.

Why one-permutation hashing: the classic signature, num_perm hashes `(a*x + b) mod p` of every shingle
and a per-text `np.minimum.reduceat`, costs num_perm passes over every shingle. Measured with numpy on
30-150 word prompts (2-core AMD EPYC VM) that is about 4 ns per shingle and permutation: 20,000 rows/s
at num_perm=128 and 40,000 at 64 for the signatures alone. One-permutation hashing makes one pass; each
of its bins still collides with probability equal to the Jaccard similarity.
"""

from __future__ import annotations

import numpy as np

from backend.prompts.dedup.hashing import GOLD, M1, U64, mix

_EMPTY = np.uint32(0xFFFFFFFF)


def lsh_params(threshold: float, num_perm: int, recall: float = 0.995) -> tuple[int, int]:
    """(bands, rows) with bands * rows <= num_perm, for an LSH index whose candidates are checked.

    A false positive costs one check while a false negative keeps a duplicate, so this picks, among the
    pairs whose S-curve 1 - (1 - s**rows)**bands reaches `recall` at s = threshold (or, if none does,
    those that come closest), the one with the least false-positive area below the threshold. For 0.8
    and 64: 11 bands of 4 rows; 99.7% of pairs at exactly 0.8 become candidates, 99.99% at 0.85 (and
    51% at 0.5: checked and rejected).
    """
    xs = np.linspace(0.0, threshold, 401)
    best_key, best = None, (1, 1)
    for r in range(1, num_perm + 1):
        for b in range(1, num_perm // r + 1):
            hit = 1 - (1 - threshold**r) ** b
            fp_area = float(np.trapezoid(1 - (1 - xs**r) ** b, xs))
            key = (hit < recall, -min(hit, recall), fp_area, b * r)
            if best_key is None or key < best_key:
                best_key, best = key, (b, r)
    return best


class BandHasher:
    """Signatures of `bins` (the next power of two of bands * rows_per_band) one-permutation MinHash
    bins, and the band keys of LSH with the (bands, rows_per_band) that lsh_params picks."""

    def __init__(self, threshold: float, num_perm: int) -> None:
        self.bands, self.rows_per_band = lsh_params(threshold, num_perm)
        self.bin_bits = max(1, (self.bands * self.rows_per_band - 1).bit_length())
        self.bins = 1 << self.bin_bits  # the bands use the first bands * rows_per_band of them
        with np.errstate(over="ignore"):
            self._band_salt = mix(np.arange(1, self.bands + 1, dtype=U64) * GOLD)
            self._row_mult = mix(np.arange(1, self.rows_per_band + 1, dtype=U64) * M1) | U64(1)

    def signatures(self, g: np.ndarray, doc: np.ndarray, n: int) -> np.ndarray:
        """(n, bands * rows_per_band) one-permutation MinHash signatures (the bins the bands use): a
        shingle's top bits pick its bin, its low 32 bits are its value. Empty bins are densified by
        rotation: they take the value of the next non-empty bin (circularly, among all `bins`), salted by
        the distance, so a pair's bins still agree with probability equal to its Jaccard similarity
        (Shrivastava and Li, 2014). A text without words keeps empty bins."""
        p, used = self.bins, self.bands * self.rows_per_band
        sig = np.full(n * p, _EMPTY, dtype=np.uint32)
        where = (doc << self.bin_bits) | (g >> U64(64 - self.bin_bits)).astype(np.int32)
        np.minimum.at(sig, where, g.astype(np.uint32))
        out = sig.reshape(n, p)[:, :used].copy()
        gaps = np.flatnonzero(out == _EMPTY)
        full = sig != _EMPTY
        ne = np.flatnonzero(full).astype(np.int32)  # the non-empty bins
        if gaps.size and ne.size:
            before = np.cumsum(full, dtype=np.int32)  # non-empty bins up to and including each bin
            row = (gaps // used).astype(np.int32)
            start = row * p
            at = start + (gaps - row * used).astype(np.int32)
            src = ne[np.minimum(before[at], ne.size - 1)]  # the first non-empty bin after the gap
            wrap = np.flatnonzero((src < at) | (src >= start + p))  # none after it in its row: its first
            if wrap.size:
                src[wrap] = ne[np.minimum(before[start[wrap]] - full[start[wrap]], ne.size - 1)]
            ok = (src >= start) & (src < start + p)  # else a text without words
            dist = ((src - at) & (p - 1)).astype(np.uint32)
            with np.errstate(over="ignore"):
                out.reshape(-1)[gaps[ok]] = sig[src[ok]] + dist[ok] * np.uint32(0x9E3779B1)
        return out

    def keys(self, sig: np.ndarray) -> np.ndarray:
        """(n, bands) 32-bit keys; band b holds bins b, b + bands, b + 2 * bands, ... (spread around
        the ring, away from the neighbours it may borrow from). Each key mixes its band number in, so
        all bands share one index."""
        n = sig.shape[0]
        s = sig[:, : self.bands * self.rows_per_band].reshape(n, self.rows_per_band, self.bands).astype(U64)
        with np.errstate(over="ignore"):
            acc = np.broadcast_to(self._band_salt, (n, self.bands)).copy()
            for j in range(self.rows_per_band):
                acc += s[:, j, :] * self._row_mult[j]
        return (mix(acc) >> U64(32)).astype(np.uint32)
