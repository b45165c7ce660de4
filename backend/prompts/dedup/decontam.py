"""Decontamination: training prompts that share a word n-gram with an evaluation set."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, overload

import numpy as np

from backend.prompts.dedup import hashing  # hashing.CHUNK, read at call time: tests shrink it
from backend.prompts.dedup.arrays import U64, SortedArray
from backend.prompts.dedup.hashing import Words, chunk_word_hashes, gram_hashes, select
from backend.prompts.dedup.index import BitFilter


class Decontaminator:
    """Finds training prompts that share a word n-gram with an evaluation set (open-r1's method).

    N-grams are over `normalise(text).split()`; a text with fewer than n words is one gram of all its
    words, so it matches only a text equal to it after normalising. The evaluation set is held as sorted
    64-bit gram hashes, each with the first evaluation row that has it (12 bytes a distinct gram), behind
    a bitmap of their top bits (2 bytes a gram, at most 16 MiB) that most training grams stop at.
    """

    def __init__(self, eval_texts: Sequence[str], n: int = 8):
        if n < 1:
            raise ValueError("n must be positive")
        self.n = n
        eval_texts = list(eval_texts)
        gs, cs = [], []
        for i in range(0, len(eval_texts), hashing.CHUNK):
            g, c = gram_hashes(*chunk_word_hashes(eval_texts[i : i + hashing.CHUNK]), n)
            gs.append(g)
            cs.append(c)
        g = np.concatenate(gs) if gs else np.empty(0, U64)
        rows = np.repeat(np.arange(len(eval_texts), dtype=np.int64), np.concatenate(cs) if cs else [])
        order = np.lexsort((rows, g))
        g, rows = g[order], rows[order]
        first = np.concatenate([[True], g[1:] != g[:-1]]) if g.size else np.empty(0, bool)
        self._grams, self._rows = SortedArray(g[first]), rows[first].astype(np.int32)
        self._filter = BitFilter(min(27, max(16, (self._grams.size << 4).bit_length())))
        self._filter.add(self._grams.values)
        self.checked = 0
        self.matched = 0

    @property
    def stats(self) -> dict[str, int]:
        return {"checked": self.checked, "matched": self.matched, "eval_grams": int(self._grams.size)}

    @overload
    def match_batch(self, texts: Sequence[str], words: None = None) -> list[int | None]: ...
    @overload
    def match_batch(self, texts: Sequence[Any], words: Words) -> list[int | None]: ...
    def match_batch(self, texts: Sequence[Any], words: Words | None = None) -> list[int | None]:
        """For each text, the index of the first evaluation row it shares an n-gram with, or None.

        `words`: word_hashes(texts), when the caller already has them; only the count of texts is read
        then, so range(n) will do.
        """
        out: list[int | None] = []
        none = np.iinfo(np.int64).max
        for i in range(0, len(texts), hashing.CHUNK):
            part = slice(i, i + hashing.CHUNK)
            size = len(texts[part])
            best = np.full(size, none, dtype=np.int64)
            if self._grams.size:
                w = chunk_word_hashes(texts[part]) if words is None else select(words, part)
                g, per_text = gram_hashes(*w, self.n)
                maybe = np.flatnonzero(self._filter.may_hold(g))
                at = np.minimum(self._grams.search(g[maybe]), self._grams.size - 1)
                hit = self._grams.values[at] == g[maybe]
                doc = np.repeat(np.arange(size, dtype=np.int64), per_text)[maybe[hit]]
                np.minimum.at(best, doc, self._rows[at[hit]].astype(np.int64))
            out.extend(None if b == none else b for b in best.tolist())
        self.checked += len(out)
        self.matched += sum(o is not None for o in out)
        return out

    def match(self, text: str) -> int | None:
        """The index of the first evaluation row sharing an n-gram with the text, or None.

        Costs numpy's per-call overhead (tens of microseconds) for one text: prefer match_batch.
        """
        return self.match_batch([text])[0]
