"""The cleaning pipeline an import (or a derived version) pushes its prompts through, batch by batch:
exact duplicates, decontamination against an evaluation set, near duplicates, the train/eval split,
and the statistics stored with the version."""

from __future__ import annotations

import operator
from array import array
from collections import Counter
from typing import Any

import numpy as np

from backend.prompts.dedup.decontam import Decontaminator
from backend.prompts.dedup.exact import ExactDeduper
from backend.prompts.dedup.hashing import Words, hex_hashes, select, text_hash_pairs, word_hashes
from backend.prompts.dedup.near import NearDeduper
from backend.prompts.importer import ParsedPrompt
from backend.prompts.schemas import CleaningOptions, Removed
from backend.prompts.split import split_column
from backend.prompts.stats import length_stats

MAX_EXAMPLES = 50


class HashedRows:
    """What the cleaning steps need of a batch: each row's position (its key), the hashes of its words
    (word_hashes), its 128-bit text hash (text_hash_pairs), its length in characters, and its text on
    demand (only removed rows and the rows they matched are ever asked for, for the examples)."""

    __slots__ = ("n", "positions", "words", "pairs", "lengths", "text")

    def __init__(
        self, positions: list[int], words: Words, pairs: np.ndarray, lengths: np.ndarray, text
    ) -> None:
        self.n, self.positions, self.words, self.pairs = len(positions), positions, words, pairs
        self.lengths, self.text = lengths, text

    @classmethod
    def of(cls, texts: list[str], positions: list[int]) -> HashedRows:
        words = word_hashes(texts)  # hashed once per batch, shared by every step
        lengths = np.fromiter(map(len, texts), np.uint32, len(texts))
        return cls(positions, words, text_hash_pairs(words), lengths, texts.__getitem__)


def _cut(text: str | None) -> str | None:
    return None if text is None else text[:200]


class Cleaner:
    def __init__(self, options: CleaningOptions, eval_rows: list[tuple[int, str]] | None = None):
        self.options = options
        self.exact = ExactDeduper() if options.dedup_exact else None
        self.near = (
            NearDeduper(threshold=options.near_dup_threshold, shingle=options.shingle_words)
            if options.near_dup_threshold is not None
            else None
        )
        self.eval_rows = eval_rows or []
        self.decon = (
            Decontaminator([t for _, t in self.eval_rows], n=options.ngram) if self.eval_rows else None
        )
        self.removed: Counter[str] = Counter()
        self.examples: list[Removed] = []
        self.lengths = array("I")
        self.splits: Counter[str] = Counter()

    def _remove(
        self, row: int, text: str, reason: str, matched: int, matched_text: str | None = None
    ) -> None:
        self.removed[reason] += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(
                Removed(
                    row=row, reason=reason, matched=matched, text=_cut(text), matched_text=_cut(matched_text)
                )
            )

    def select(self, rows: HashedRows) -> np.ndarray:
        """Which rows of a batch survive (a boolean mask); the removed ones are counted, with examples.

        Every step works on the whole batch (numpy, or C-level loops over lists); Python code runs only
        for the rows a step removes.
        """
        n, positions, words, text = rows.n, rows.positions, rows.words, rows.text
        alive = np.ones(n, dtype=bool)
        if self.exact is not None:
            firsts = self.exact.add_batch(positions, rows.pairs[:, 0].tolist())
            dup = np.flatnonzero(np.fromiter(map(operator.is_not, firsts, positions), bool, n))
            if dup.size:
                alive[dup] = False
                index = {pos: i for i, pos in enumerate(positions)}
                for i in dup.tolist():
                    j = index.get(firsts[i])  # the first row, when it is in this batch
                    self._remove(
                        positions[i], text(i), "exact_duplicate", firsts[i], None if j is None else text(j)
                    )
        if self.decon is not None:
            for i, hit in enumerate(self.decon.match_batch(range(n), words)):
                if hit is not None and alive[i]:
                    pos, eval_text = self.eval_rows[hit]
                    self._remove(positions[i], text(i), "contaminated", pos, eval_text)
                    alive[i] = False
        if self.near is not None and alive.any():
            live = np.flatnonzero(alive).tolist()
            keys = [positions[i] for i in live]
            matches = self.near.add_batch(keys, range(len(live)), select(words, alive))
            if any(m is not None for m in matches):
                index = {pos: i for i, pos in enumerate(positions)}
                for k, m in enumerate(matches):
                    if m is not None:
                        i, j = live[k], index.get(m)
                        self._remove(
                            positions[i], text(i), "near_duplicate", m, None if j is None else text(j)
                        )
                        alive[i] = False
        self.lengths.extend(rows.lengths[alive].tolist())
        return alive

    def process(self, batch: list[ParsedPrompt]) -> tuple[list[ParsedPrompt], list[str]]:
        """The prompts of a batch that survive, in order, and the split of each."""
        if not batch:
            return [], []
        texts = [p.text for p in batch]
        rows = HashedRows.of(texts, [p.position for p in batch])
        for p, h in zip(batch, hex_hashes(rows.pairs), strict=True):
            p._hash = h
        alive = self.select(rows)
        keep = [batch[i] for i in np.flatnonzero(alive).tolist()]
        splits = split_column([p.text_hash for p in keep], self.options)  # each set just above
        evals = splits.count("eval")
        self.count_splits(train=len(splits) - evals, eval=evals)
        return keep, splits

    def count_splits(self, *, train: int, eval: int) -> None:  # noqa: A002 - the split's name
        """Count kept rows per split (the stats keep a split only once a row lands in it)."""
        for name, n in (("train", train), ("eval", eval)):
            if n:
                self.splits[name] += n

    def stats(self, *, source: str, rows_read: int, rejected: int) -> dict[str, Any]:
        """What is stored on the prompt-set version."""
        return {
            "count": len(self.lengths),
            "source": source,
            "rows_read": rows_read,
            "rejected": rejected,
            "removed": dict(self.removed),
            "splits": dict(self.splits),
            "chars": length_stats(self.lengths),
            "cleaning": self.options.model_dump(),
        }
