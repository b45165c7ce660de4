"""Filters and the band index: "certainly absent" bitmaps in front of sorted arrays, and the
(band key, row) index of near-duplicate detection."""

from __future__ import annotations

import numpy as np

from backend.prompts.dedup.hashing import M1, U64


class BitFilter:
    """A bitmap indexed by the top bits of 64-bit hashes: a cheap "certainly absent" before a search."""

    def __init__(self, bits: int) -> None:
        self.bits = bits
        self.array = np.zeros(1 << (bits - 3), dtype=np.uint8)

    def _where(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        bit = (hashes >> U64(64 - self.bits)).astype(np.intp)
        return bit >> 3, np.left_shift(1, bit & 7).astype(np.uint8)

    def add(self, hashes: np.ndarray) -> None:
        byte, mask = self._where(hashes)
        while byte.size:  # a fancy |= keeps one of several writes to a byte: redo the lost bits
            self.array[byte] |= mask
            lost = (self.array[byte] & mask) == 0
            byte, mask = byte[lost], mask[lost]

    def may_hold(self, hashes: np.ndarray) -> np.ndarray:
        byte, mask = self._where(hashes)
        return (self.array[byte] & mask) != 0


class KeyFilter:
    """A blocked Bloom filter of 32-bit keys: a key sets 3 bits of one 64-bit word (its top bits pick the
    word, so a sorted run of keys touches the words in order), a cheap "certainly absent" before a
    search. At 13 to 16 bits a key about 1% of absent keys get through (a 1-bit bitmap lets 6% through)."""

    def __init__(self, bits: int) -> None:
        self.bits = bits
        self.words = np.zeros(1 << (bits - 6), dtype=U64)

    def _where(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = keys.astype(U64)
        with np.errstate(over="ignore"):
            h = k * M1  # the product's high bits depend on every bit of the key
        word = (k >> U64(38 - self.bits)).astype(np.intp)
        one = U64(1)
        mask = one << ((h >> U64(40)) & U64(63))
        mask |= one << ((h >> U64(46)) & U64(63))
        mask |= one << ((h >> U64(52)) & U64(63))
        return word, mask

    def add(self, sorted_keys: np.ndarray) -> None:
        """Adds keys given in increasing order (a fancy |= would keep one of several writes to a word)."""
        if not sorted_keys.size:
            return
        word, mask = self._where(sorted_keys)
        while True:  # of equal words (next to each other) the last write wins: redo the others
            self.words[word] |= mask
            again = np.flatnonzero(word[1:] == word[:-1])
            if not again.size:
                return
            word, mask = word[again], mask[again]

    def may_hold(self, keys: np.ndarray) -> np.ndarray:
        word, mask = self._where(keys)
        return (self.words[word] & mask) == mask


class BandIndex:
    """(32-bit band key, row ordinal) pairs packed into sorted uint64 arrays (levels, merged like a binary
    counter), behind a blocked Bloom filter of the keys that turns about 99% of absent keys away before
    any search. A level keeps every FENCE-th entry (a fence, in cache), so a lookup binary-searches the
    fence and then reads one short window of the level instead of binary-searching millions of keys.

    A key's entries sort by ordinal, so its first entries are its earliest rows.
    """

    MAX_LEVEL = 1 << 22  # entries; bigger levels are not merged, so no merge copies much at once
    FILTER_BITS = 27  # 16 MiB: 13 bits a key at 10M keys
    FENCE = 32

    def __init__(self) -> None:
        self.levels: list[tuple[np.ndarray, np.ndarray]] = []  # (sorted entries, every FENCE-th of them)
        self.entries = 0
        self.filter = KeyFilter(self.FILTER_BITS)  # zeroed lazily: pages are mapped as keys reach them

    @property
    def nbytes(self) -> int:
        levels = sum(values.nbytes + fence.nbytes for values, fence in self.levels)
        return self.filter.words.nbytes + levels

    def add(self, keys: np.ndarray, ords: np.ndarray) -> None:
        self.entries += keys.size
        run = (keys.astype(U64) << U64(32)) | ords.astype(U64)
        run.sort()
        self.filter.add(run >> U64(32))
        while self.levels and self.levels[-1][0].size <= 2 * run.size < self.MAX_LEVEL:
            run = np.concatenate([self.levels.pop()[0], run])
            run.sort(kind="stable")  # merges two sorted runs
        self.levels.append((run, run[:: self.FENCE].copy()))

    def lookup(self, queries: np.ndarray, cap: int) -> tuple[np.ndarray, np.ndarray]:
        """(query index, ordinal) pairs: up to `cap` earliest rows per query key and level."""
        maybe = np.flatnonzero(self.filter.may_hold(queries))
        maybe = maybe[np.argsort(queries[maybe])]  # sorted queries search faster
        key = queries[maybe].astype(U64)
        low = key << U64(32)
        f = self.FENCE
        # fence[i - 1] < low <= fence[i]: the key's first entry is in ((i - 1) * f, i * f], so its first
        # `cap` entries are in a window of f + cap - 1 entries from (i - 1) * f + 1
        window = np.arange(f + cap - 1)
        qs, os_ = [], []
        for values, fence in self.levels:
            start = np.maximum(np.searchsorted(fence, low) * f - (f - 1), 0)
            at = start[:, None] + window
            found = values[np.minimum(at, values.size - 1)]
            hit = ((found >> U64(32)) == key[:, None]) & (at < values.size)
            if cap < window.size:
                hit &= np.cumsum(hit, axis=1) <= cap
            q, j = np.nonzero(hit)
            if q.size:
                qs.append(maybe[q])
                os_.append(found[q, j] & U64(0xFFFFFFFF))
        if not qs:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        return np.concatenate(qs), np.concatenate(os_).astype(np.int64)
