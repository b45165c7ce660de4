"""The cleaning pipeline an import (or a derived version) pushes its prompts through, batch by batch:
exact duplicates, decontamination against an evaluation set, near duplicates, the train/eval split,
and the statistics stored with the version."""

from __future__ import annotations

import operator
from array import array
from collections import Counter
from typing import Any

import numpy as np

from backend.prompts.cleaning import (
    Decontaminator,
    ExactDeduper,
    NearDeduper,
    hex_hashes,
    length_stats,
    select,
    split_of,
    text_hash_pairs,
    word_hashes,
)
from backend.prompts.importer import ParsedPrompt
from backend.prompts.schemas import CleaningOptions, Removed

MAX_EXAMPLES = 50


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

    def _remove(self, p: ParsedPrompt, reason: str, matched: int, matched_text: str | None = None) -> None:
        self.removed[reason] += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(
                Removed(
                    row=p.position,
                    reason=reason,
                    matched=matched,
                    text=_cut(p.text),
                    matched_text=_cut(matched_text),
                )
            )

    def process(self, batch: list[ParsedPrompt]) -> tuple[list[ParsedPrompt], list[str]]:
        """The prompts of a batch that survive, in order, and the split of each.

        Every step works on the whole batch (numpy, or C-level loops over lists); Python code runs only
        for the rows a step removes.
        """
        if not batch:
            return [], []
        texts = [p.text for p in batch]
        words = word_hashes(texts)  # hashed once per batch, shared by every step below
        pairs = text_hash_pairs(words)
        hashes = hex_hashes(pairs)
        for p, h in zip(batch, hashes, strict=True):
            p._hash = h
        alive = np.ones(len(batch), dtype=bool)
        if self.exact is not None:
            positions = [p.position for p in batch]
            firsts = self.exact.add_batch(positions, pairs[:, 0].tolist())
            dup = np.flatnonzero(np.fromiter(map(operator.is_not, firsts, positions), bool, len(batch)))
            if dup.size:
                alive[dup] = False
                here = {p.position: p.text for p in batch} if len(self.examples) < MAX_EXAMPLES else {}
                for i in dup.tolist():
                    self._remove(batch[i], "exact_duplicate", firsts[i], here.get(firsts[i]))
        if self.decon is not None:
            for i, hit in enumerate(self.decon.match_batch(texts, words)):
                if hit is not None and alive[i]:
                    pos, text = self.eval_rows[hit]
                    self._remove(batch[i], "contaminated", pos, text)
                    alive[i] = False
        if self.near is not None and alive.any():
            live = np.flatnonzero(alive)
            keep = [batch[i] for i in live.tolist()]
            matches = self.near.add_batch(
                [p.position for p in keep], [p.text for p in keep], select(words, alive)
            )
            if any(m is not None for m in matches):
                here = {p.position: p.text for p in keep} if len(self.examples) < MAX_EXAMPLES else {}
                for i, m in enumerate(matches):
                    if m is not None:
                        self._remove(keep[i], "near_duplicate", m, here.get(m))
                        alive[live[i]] = False
        live = np.flatnonzero(alive)
        keep = (
            [batch[i] for i in live.tolist()] if live.size < len(batch) else batch[:]
        )  # callers reuse batch
        ratio, seed = self.options.eval_ratio, self.options.split_seed
        splits = [split_of(p._hash, ratio, seed) for p in keep] if ratio else ["train"] * len(keep)
        self.lengths.extend(np.fromiter(map(len, texts), np.uint32, len(texts))[live].tolist())
        if ratio:
            self.splits.update(splits)
        else:
            self.splits["train"] += len(keep)
        return keep, splits

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
