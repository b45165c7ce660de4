"""Array structures the dedup steps keep their state in: index ranges, append-only arrays, many small
sets back to back, and a sorted uint64 array with a directory that makes searches short."""

from __future__ import annotations

import numpy as np

U64 = np.uint64


def ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The concatenation of arange(s, s + l) for every (s, l)."""
    total = int(lengths.sum())
    return np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths - starts, lengths)


class Growing:
    """An append-only 1-D numpy array, grown by a quarter at a time in place (realloc: no second copy)."""

    def __init__(self, dtype, size: int = 1 << 12) -> None:
        self.data = np.zeros(size, dtype=dtype)
        self.n = 0

    def extend(self, values: np.ndarray) -> None:
        need = self.n + values.size
        if need > self.data.size:
            self.data.resize(max(need, self.data.size + self.data.size // 4), refcheck=False)
        self.data[self.n : need] = values
        self.n = need

    @property
    def view(self) -> np.ndarray:
        return self.data[: self.n]


class Sets:
    """Many small sorted sets of integers back to back: set i is values[offsets[i]:offsets[i + 1]]."""

    def __init__(self, dtype) -> None:
        self.values = Growing(dtype)
        self.offsets = Growing(np.int64)
        self.offsets.extend(np.zeros(1, np.int64))

    def add(self, values: np.ndarray, sizes: np.ndarray) -> None:
        self.values.extend(values)
        self.offsets.extend(self.offsets.data[self.offsets.n - 1] + np.cumsum(sizes))


def group_starts(sorted_values: np.ndarray) -> np.ndarray:
    """For each element of a sorted array, the index of the first element equal to it."""
    n = sorted_values.size
    starts = np.flatnonzero(np.concatenate([[True], sorted_values[1:] != sorted_values[:-1]]))
    return np.repeat(starts, np.diff(starts, append=n))


def sorted_sets(doc: np.ndarray, values: np.ndarray, n: int, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Each text's distinct values (< 2**bits) in increasing order, text after text, and how many."""
    packed = np.sort((doc.astype(U64) << U64(bits)) | values.astype(U64))
    if packed.size:
        packed = packed[np.concatenate([[True], packed[1:] != packed[:-1]])]
    sizes = np.bincount((packed >> U64(bits)).astype(np.int64), minlength=n)
    return packed & U64((1 << bits) - 1), sizes


class SortedArray:
    """A sorted uint64 array with a directory of where each run of values sharing their top bits starts
    (about 4 values a run), so a search reads one short run instead of binary-searching the array."""

    __slots__ = ("values", "directory", "bits")

    def __init__(self, values: np.ndarray) -> None:
        self.values = values
        self.bits = max(1, values.size.bit_length() - 2)
        counts = np.bincount((values >> U64(64 - self.bits)).astype(np.intp), minlength=1 << self.bits)
        self.directory: np.ndarray = np.zeros(
            (1 << self.bits) + 1, dtype=np.int32 if values.size < 2**31 else np.int64
        )
        np.cumsum(counts, out=self.directory[1:])

    @property
    def nbytes(self) -> int:
        return self.values.nbytes + self.directory.nbytes

    @property
    def size(self) -> int:
        return self.values.size

    def search(self, queries: np.ndarray) -> np.ndarray:
        """np.searchsorted(values, queries) (leftmost), for uint64 queries."""
        top = (queries >> U64(64 - self.bits)).astype(np.intp)
        start, end = self.directory[top], self.directory[top + 1]
        width = int((end - start).max(initial=0))
        if width > 64:  # long runs (many equal values): plain binary search
            return np.searchsorted(self.values, queries)
        pos = start[:, None] + np.arange(width)
        smaller = (self.values[np.minimum(pos, self.values.size - 1)] < queries[:, None]) & (
            pos < end[:, None]
        )
        return start + smaller.sum(axis=1)
