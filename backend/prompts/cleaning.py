"""Pure, vectorised cleaning primitives for prompt sets at a million rows.

- ExactDeduper: first-seen wins on the normalised-text hash.
- NearDeduper: MinHash LSH on word shingles. Signatures use one-permutation hashing with rotation
  densification (one hash per shingle instead of one per shingle per permutation), computed with numpy
  over a whole batch; the band index is a log-structured set of sorted numpy arrays, so a million rows
  cost tens of MB rather than the GBs a dict of Python ints would.
- Decontaminator: word n-gram overlap with an evaluation set (open-r1 uses 8-grams).
- split_of: a deterministic train/eval side per prompt hash.
- length_stats: count, mean, percentiles and histogram.

Words are hashed from their UTF-8 bytes with numpy, so results are the same in every process (Python's
salted str hash is never part of a result) and no Python code runs per word.
"""

from __future__ import annotations

from collections.abc import Sequence
from hashlib import blake2b
from typing import Any

import numpy as np

U64 = np.uint64
_M1, _M2 = U64(0xBF58476D1CE4E5B9), U64(0x94D049BB133111EB)
_EMPTY = np.uint32(0xFFFFFFFF)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads every input bit over the output (uint64 in, uint64 out)."""
    with np.errstate(over="ignore"):
        x = x ^ (x >> U64(30))
        x = x * _M1
        x = x ^ (x >> U64(27))
        x = x * _M2
        return x ^ (x >> U64(31))


_P = U64(0x100000001B3)  # odd, so invertible modulo 2**64
_P_INV = U64(pow(0x100000001B3, -1, 2**64))
_Q = U64(0x9E3779B97F4A7C15 | 1)
_Q_INV = U64(pow(0x9E3779B97F4A7C15 | 1, -1, 2**64))
_SPACE = np.zeros(256, dtype=bool)
_SPACE[[0, 9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True  # ASCII whitespace, as str.split sees it, and NUL


_POWERS: dict[int, np.ndarray] = {}


def _powers(base: np.uint64, n: int) -> np.ndarray:
    """base**0 .. base**(n-1) modulo 2**64, cached and grown by doubling across batches."""
    have = _POWERS.get(int(base))
    if have is None or have.size < n:
        size = max(n, 2 * (have.size if have is not None else 1 << 16))
        out = np.full(size, base, dtype=U64)
        out[0] = 1
        with np.errstate(over="ignore"):
            have = _POWERS[int(base)] = np.cumprod(out, dtype=U64)
    return have[:n]


def word_hashes(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of every lower-cased, whitespace-separated word of each text, and its word count.

    Vectorised over the UTF-8 bytes of the whole batch (polynomial prefix hashes, which are invertible
    modulo 2**64), so no Python code runs per word. Texts never contain NUL (the importer rejects it),
    which therefore separates them.
    """
    raw = np.frombuffer("\x00".join(texts).lower().encode("utf-8", "surrogatepass"), dtype=np.uint8)
    n = raw.size
    space = _SPACE[raw]
    is_nul = raw == 0
    prev_space = np.concatenate([[True], space[:-1]])
    next_space = np.concatenate([space[1:], [True]])
    starts = np.flatnonzero(~space & prev_space)
    ends = np.flatnonzero(~space & next_space) + 1
    pw = _powers(_P, n + 1)
    with np.errstate(over="ignore"):
        prefix = np.concatenate([[U64(0)], np.cumsum(raw.astype(U64) * pw[:n], dtype=U64)])
        h = (prefix[ends] - prefix[starts]) * _powers(_P_INV, n + 1)[starts]
    doc = np.cumsum(is_nul)[starts] if starts.size else np.empty(0, np.int64)
    counts = np.bincount(doc, minlength=len(texts)).astype(np.int64)
    return _mix(h + U64(0x9E3779B97F4A7C15)), counts


Words = tuple[np.ndarray, np.ndarray]  # (flat word hashes, word count per text), as word_hashes returns


def text_hashes(words: Words) -> list[str]:
    """128-bit hex hash of each text's normalised word sequence (case and spacing do not matter).

    Two polynomial hashes of the word hashes, one per 64-bit half, from prefix sums over the batch.
    """
    wh, counts = words
    n = wh.size
    ends = np.cumsum(counts)
    starts = ends - counts
    halves = []
    for base, inv, salt in ((_P, _P_INV, 0x243F6A8885A308D3), (_Q, _Q_INV, 0x13198A2E03707344)):
        with np.errstate(over="ignore"):
            prefix = np.concatenate([[U64(0)], np.cumsum(wh * _powers(base, n), dtype=U64)])
            h = (prefix[ends] - prefix[starts]) * _powers(inv, n + 1)[starts]
        halves.append(_mix(h ^ (counts.astype(U64) * U64(salt))).tolist())
    return [f"{a:016x}{b:016x}" for a, b in zip(*halves, strict=True)]


def select(words: Words, rows: np.ndarray) -> Words:
    """The word hashes of some texts of a batch (rows: a boolean mask over texts)."""
    wh, counts = words
    return wh[np.repeat(rows, counts)], counts[rows]


def _kgrams(words: np.ndarray, counts: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of every k-word window inside one text, and the text each belongs to.

    A text with fewer than k words (but at least one) is one shingle of all its words.
    """
    n = words.size
    doc_of = np.repeat(np.arange(counts.size), counts)
    parts_h, parts_d = [], []
    if n >= k:
        with np.errstate(over="ignore"):
            h = np.zeros(n - k + 1, dtype=U64)
            for j in range(k):
                h = h * _P + words[j : n - k + 1 + j]
        valid = doc_of[: n - k + 1] == doc_of[k - 1 :]
        parts_h.append(h[valid])
        parts_d.append(doc_of[: n - k + 1][valid])
    short = np.flatnonzero((counts > 0) & (counts < k))
    if short.size:
        starts = np.concatenate([[0], np.cumsum(counts)])[short]
        hs = np.zeros(short.size, dtype=U64)
        with np.errstate(over="ignore"):
            for j in range(k - 1):
                inside = j < counts[short]
                hs = np.where(inside, hs * _P + words[np.minimum(starts + j, n - 1)], hs)
        parts_h.append(hs)
        parts_d.append(short)
    if not parts_h:
        return np.empty(0, U64), np.empty(0, np.int64)
    return _mix(np.concatenate(parts_h)), np.concatenate(parts_d)


def _lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """Bands and rows that minimise false positives plus false negatives around the threshold."""
    xs = np.linspace(0, 1, 201)
    best, best_err = (1, num_perm), float("inf")
    for b in range(1, num_perm + 1):
        if num_perm % b:
            continue
        r = num_perm // b
        p = 1 - (1 - xs**r) ** b
        err = np.trapezoid(np.where(xs < threshold, p, 1 - p), xs)
        if err < best_err:
            best, best_err = (b, r), err
    return best


class _SortedIndex:
    """A growing set of (key, ordinal) pairs kept as a few sorted numpy arrays (log-structured)."""

    def __init__(self) -> None:
        self.levels: list[tuple[np.ndarray, np.ndarray]] = []

    def add(self, keys: np.ndarray, ords: np.ndarray) -> None:
        order = np.argsort(keys, kind="stable")
        run = (keys[order], ords[order])
        while self.levels and self.levels[-1][0].size <= run[0].size * 2:
            k2, o2 = self.levels.pop()
            k, o = np.concatenate([k2, run[0]]), np.concatenate([o2, run[1]])
            order = np.argsort(k, kind="stable")
            run = (k[order], o[order])
        self.levels.append(run)

    def first(self, queries: np.ndarray) -> np.ndarray:
        """For each query key, the smallest ordinal stored under it, or -1."""
        out = np.full(queries.size, -1, dtype=np.int64)
        for keys, ords in self.levels:
            i = np.searchsorted(keys, queries)
            i_ok = np.minimum(i, keys.size - 1)
            hit = (i < keys.size) & (keys[i_ok] == queries)
            cand = np.where(hit, ords[i_ok], -1)
            better = (cand >= 0) & ((out < 0) | (cand < out))
            out[better] = cand[better]
        return out


class _Growing:
    """An append-only 1-D numpy array that grows by doubling."""

    def __init__(self, dtype) -> None:
        self.data = np.empty(1 << 16, dtype=dtype)
        self.n = 0

    def extend(self, values: np.ndarray) -> None:
        need = self.n + values.size
        if need > self.data.size:
            grown = np.empty(max(need, 2 * self.data.size), dtype=self.data.dtype)
            grown[: self.n] = self.data[: self.n]
            self.data = grown
        self.data[self.n : need] = values
        self.n = need


_MISSING = object()


class ExactDeduper:
    """First occurrence of each normalised text wins."""

    def __init__(self) -> None:
        self._seen: dict[int, Any] = {}

    def add(self, key: Any, text_hash: str) -> Any | None:
        """None for a new text, else the key of the row it repeats."""
        first = self._seen.setdefault(int(text_hash[:16], 16), key)
        return None if first is key else first


class NearDeduper:
    """MinHash LSH near-duplicate detection on word shingles; earlier rows win.

    LSH bands over one-permutation MinHash signatures propose candidates; each candidate pair is then
    confirmed with the exact Jaccard similarity of the two rows' shingle sets (kept as sorted 32-bit
    hashes, about 4 bytes per shingle), so short prompts, where a 32-value signature is a noisy
    estimate, are not merged by chance.
    """

    def __init__(self, threshold: float = 0.8, shingle: int = 5, num_perm: int = 32):
        if num_perm & (num_perm - 1):
            raise ValueError("num_perm must be a power of two")
        self.threshold, self.shingle, self.num_perm = threshold, shingle, num_perm
        self.bands, self.rows = _lsh_params(threshold, num_perm)
        self._index = _SortedIndex()
        self._shingles = _Growing(np.uint32)  # every row's sorted unique shingle hashes, back to back
        self._offsets = _Growing(np.int64)  # where row i's shingles start; a final end offset is implied
        self._offsets.extend(np.zeros(1, np.int64))
        self._keys: list[Any] = []
        self.removed = 0

    def _signatures(self, h: np.ndarray, doc: np.ndarray, n: int) -> np.ndarray:
        """(n, num_perm) one-permutation MinHash signatures with rotation densification, for banding."""
        p = self.num_perm
        sig = np.full(n * p, _EMPTY, dtype=np.uint32)
        np.minimum.at(sig, doc * p + (h & U64(p - 1)).astype(np.int64), (h >> U64(32)).astype(np.uint32))
        sig = sig.reshape(n, p)
        todo = sig == _EMPTY
        if todo.any():
            filled = sig.copy()
            for dist in range(
                1, p
            ):  # an empty bin borrows the next non-empty bin's value, salted by distance
                src = np.roll(sig, -dist, axis=1)
                take = todo & (src != _EMPTY)
                filled[take] = src[take] ^ np.uint32((dist * 0x9E3779B1) & 0xFFFFFFFF)
                todo &= ~take
                if not todo.any():
                    break
            sig = filled
        return sig

    def _band_keys(self, sig: np.ndarray) -> np.ndarray:
        b, r = self.bands, self.rows
        s = sig[:, : b * r].reshape(sig.shape[0], b, r).astype(U64)
        with np.errstate(over="ignore"):
            acc = np.zeros((sig.shape[0], b), dtype=U64)
            for j in range(r):
                acc = acc * _P + s[:, :, j]
            acc = acc * U64(64) + np.arange(b, dtype=U64)  # a band's keys never meet another band's
        return _mix(acc)

    def _jaccard(self, a: int, b: int) -> float:
        d, o = self._shingles.data, self._offsets.data
        x, y = d[o[a] : o[a + 1]], d[o[b] : o[b + 1]]
        inter = np.intersect1d(x, y, assume_unique=True).size
        return inter / (x.size + y.size - inter)

    def add_batch(
        self, keys: Sequence[Any], texts: Sequence[str], words: Words | None = None
    ) -> list[Any | None]:
        """For each text, None if new, else the key of an earlier near-duplicate (which wins).

        words: the texts' word_hashes, when the caller already has them.
        """
        n = len(texts)
        if n == 0:
            return []
        h, doc = _kgrams(*(words if words is not None else word_hashes(texts)), self.shingle)
        base = len(self._keys)
        # Store each row's shingle set: sort (row, hash) pairs once for the whole batch.
        packed = np.sort((doc.astype(U64) << U64(32)) | (h >> U64(32)))
        packed = packed[np.concatenate([[True], packed[1:] != packed[:-1]])]  # np.unique hashes: slower
        self._shingles.extend((packed & U64(0xFFFFFFFF)).astype(np.uint32))
        ends = np.searchsorted(packed >> U64(32), np.arange(1, n + 1, dtype=U64))
        self._offsets.extend(self._offsets.data[base] + ends.astype(np.int64))
        self._keys.extend(keys)

        bkeys = self._band_keys(self._signatures(h, doc, n))
        flat = bkeys.ravel()
        local = np.repeat(np.arange(n, dtype=np.int64), self.bands)
        cand_old = self._index.first(flat)  # candidates among earlier batches ...
        order = np.lexsort((local, flat))  # ... and among earlier rows of this batch
        first_local = local[order][np.searchsorted(flat[order], flat)]
        cand_new = np.where(first_local < local, first_local + base, -1)
        cands = np.concatenate([cand_old, cand_new])
        rows = np.concatenate([local, local])
        ok = cands >= 0
        pairs = sorted(set(zip(rows[ok].tolist(), cands[ok].tolist(), strict=True)))
        match = np.full(n, -1, dtype=np.int64)
        for r, c in pairs:  # sorted by (row, candidate): the first confirmed is the earliest row
            if match[r] < 0 and self._jaccard(base + r, c) >= self.threshold:
                match[r] = c
        result: list[Any | None] = [None if m < 0 else self._keys[m] for m in match.tolist()]
        self.removed += int((match >= 0).sum())
        kept = np.flatnonzero(match < 0)
        if kept.size:  # only rows that stay can be matched later
            self._index.add(bkeys[kept].ravel(), np.repeat(kept + base, self.bands))
        return result


class Decontaminator:
    """Finds training prompts that share a word n-gram with an evaluation set."""

    def __init__(self, eval_texts: Sequence[str], n: int = 8):
        self.n = n
        h, doc = (
            _kgrams(*word_hashes(eval_texts), n) if eval_texts else (np.empty(0, U64), np.empty(0, np.int64))
        )
        order = np.lexsort((doc, h))
        self._hashes, self._docs = h[order], doc[order]

    def match_batch(self, texts: Sequence[str], words: Words | None = None) -> list[int | None]:
        """For each text, the index of the first evaluation row it shares an n-gram with, or None."""
        out: list[int | None] = [None] * len(texts)
        if not texts or self._hashes.size == 0:
            return out
        h, doc = _kgrams(*(words if words is not None else word_hashes(texts)), self.n)
        i = np.searchsorted(self._hashes, h)  # leftmost: the smallest eval row with that n-gram
        i_ok = np.minimum(i, self._hashes.size - 1)
        hit = (i < self._hashes.size) & (self._hashes[i_ok] == h)
        for d, e in zip(doc[hit].tolist(), self._docs[i_ok[hit]].tolist(), strict=True):
            if out[d] is None or e < out[d]:
                out[d] = e
        return out

    def match(self, text: str) -> int | None:
        return self.match_batch([text])[0]


def split_of(text_hash: str, eval_ratio: float, seed: str = "") -> str:
    """'eval' for about eval_ratio of hashes, always the same side for the same hash and seed."""
    if eval_ratio <= 0:
        return "train"
    x = int.from_bytes(blake2b((seed + text_hash).encode(), digest_size=8).digest(), "big") / 2**64
    return "eval" if x < eval_ratio else "train"


def length_stats(lengths, percentiles: Sequence[int] = (50, 90, 95, 99), bins: int = 20) -> dict[str, Any]:
    """Count, min, max, mean, percentiles (numpy's linear method) and a histogram, JSON-ready."""
    a = np.asarray(lengths, dtype=np.int64)
    if a.size == 0:
        return {
            "count": 0,
            "min": 0,
            "max": 0,
            "mean": 0.0,
            "percentiles": {},
            "histogram": {"edges": [], "counts": []},
        }
    counts, edges = np.histogram(a, bins=bins)
    return {
        "count": int(a.size),
        "min": int(a.min()),
        "max": int(a.max()),
        "mean": round(float(a.mean()), 2),
        "percentiles": {f"p{p}": round(float(np.percentile(a, p)), 2) for p in percentiles},
        "histogram": {"edges": [round(float(e), 2) for e in edges], "counts": counts.tolist()},
    }
