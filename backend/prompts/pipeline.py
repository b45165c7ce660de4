"""The cleaning pipeline an import (or a derived version) pushes its prompts through, batch by batch:
exact duplicates, decontamination against an evaluation set, near duplicates, the train/eval split,
and the statistics stored with the version."""

from __future__ import annotations

from array import array
from collections import Counter
from typing import Any

import numpy as np

from backend.prompts.cleaning import (
    Decontaminator,
    ExactDeduper,
    NearDeduper,
    length_stats,
    select,
    split_of,
    text_hashes,
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

    def process(self, batch: list[ParsedPrompt]) -> list[tuple[ParsedPrompt, str]]:
        """The prompts of a batch that survive, each with its split."""
        if not batch:
            return []
        texts = [p.text for p in batch]
        words = word_hashes(texts)  # hashed once per batch, shared by every step below
        for p, h in zip(batch, text_hashes(words), strict=True):
            p._hash = h
        hits = self.decon.match_batch(texts, words) if self.decon is not None else None
        alive = np.ones(len(batch), dtype=bool)
        texts_here: dict[int, str] = {}
        for i, p in enumerate(batch):
            if self.exact is not None:
                first = self.exact.add(p.position, p._hash)
                if first is not None:
                    self._remove(p, "exact_duplicate", first, texts_here.get(first))
                    alive[i] = False
                    continue
            if hits is not None and hits[i] is not None:
                pos, text = self.eval_rows[hits[i]]
                self._remove(p, "contaminated", pos, text)
                alive[i] = False
                continue
            if len(self.examples) < MAX_EXAMPLES:
                texts_here[p.position] = p.text
        keep = [p for p, a in zip(batch, alive.tolist(), strict=True) if a]
        if self.near is not None and keep:
            matches = self.near.add_batch(
                [p.position for p in keep], [p.text for p in keep], select(words, alive)
            )
            survivors = []
            for p, m in zip(keep, matches, strict=True):
                if m is None:
                    survivors.append(p)
                else:
                    self._remove(p, "near_duplicate", m, texts_here.get(m))
            keep = survivors
        ratio, seed = self.options.eval_ratio, self.options.split_seed
        out = [(p, split_of(p._hash, ratio, seed) if ratio else "train") for p in keep]
        self.lengths.extend(len(p.text) for p in keep)
        self.splits.update(s for _, s in out)
        return out

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
