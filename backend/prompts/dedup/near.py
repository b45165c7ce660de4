"""Near duplicates: MinHash LSH on word shingles, earlier rows win. On 1M 30-150 word prompts: about
85,000 rows/s on one core, about 350 MB."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, overload

import numpy as np

from backend.prompts.dedup import hashing  # hashing.CHUNK, read at call time: tests shrink it
from backend.prompts.dedup.arrays import U64, Growing, Sets, group_starts, ranges
from backend.prompts.dedup.hashing import Words, chunk_word_hashes, gram_hashes, select
from backend.prompts.dedup.index import BandIndex
from backend.prompts.dedup.minhash import BandHasher
from backend.prompts.dedup.shingle_sets import SetView, chunk_sets, pair_similarity


class NearDeduper:
    """MinHash LSH near-duplicate detection on word shingles; earlier rows win.

    `add_batch(keys, texts)` returns, for each text, None when it is kept, else the key of the earliest
    kept row whose shingle set has Jaccard similarity >= threshold with it. Earlier rows of the same
    batch count, in order; a removed row is never matched again; a text without words is kept and never
    matched.

    - Shingles: hashes of the `shingle`-word windows of `normalise(text).split()` (a shorter text is one
      shingle of all its words).
    - Signature: one-permutation MinHash; `lsh_params` picks bands and rows_per_band within `num_perm`
      and the signature has the next power of two of bins. A shingle's hash picks its bin (top bits) and
      its value (low 32 bits); an empty bin takes the next non-empty bin's value salted by the distance
      (rotation), so both texts of a pair borrow alike. Band b is bins b, b + bands, b + 2 * bands, ...
    - Candidates: rows sharing a band key, at most CAP earliest per key, ranked by how many bands they
      share; the first MAX_CANDIDATES of each row are checked.
    - Check: the Jaccard similarity of the two shingle sets, kept as 16-bit fingerprints, so exact
      but for chance fingerprint collisions (about 0.1 per pair of 90-shingle texts: a few thousandths of
      similarity). Texts with more than SET_CAP distinct shingles are compared on their SET_CAP smallest
      32-bit shingle hashes instead, cut to the hash range both sets cover (a bottom-k estimate).

    Memory per kept row: 2 bytes per shingle (up to SET_CAP; texts over SET_CAP * threshold shingles also
    keep a 1 KiB bottom-k set), 8 bytes per band, 12 bytes of bookkeeping, 8 for an int key; and a bitmap
    in front of the band index of up to 16 MiB. Arrays grow by a quarter at a time.
    """

    CAP = 8
    MAX_CANDIDATES = 32
    SET_CAP = 256

    def __init__(self, threshold: float = 0.8, shingle: int = 5, num_perm: int = 64):
        if not 0.0 < threshold <= 1.0:
            raise ValueError("threshold must be in (0, 1]")
        if shingle < 1 or num_perm < 1:
            raise ValueError("shingle and num_perm must be positive")
        self.threshold, self.shingle, self.num_perm = threshold, shingle, num_perm
        self._hasher = BandHasher(threshold, num_perm)
        self.bands, self.rows_per_band = self._hasher.bands, self._hasher.rows_per_band
        self.bins = self._hasher.bins
        # A text with n distinct shingles can only reach the threshold with texts of up to n / threshold,
        # so texts above this size keep a bottom-k set and every pair involving a text over SET_CAP has one.
        self._big = int(self.SET_CAP * threshold) - 1
        self._index = BandIndex()
        self._fp = Sets(np.uint16)
        self._bot_of = Growing(np.int32)
        self._bot = Sets(np.uint32)
        self._bot_cut = Growing(U64)
        self._int_keys: Growing | None = Growing(np.int64)  # the keys, while all of them are ints
        self._keys: list[Any] = []
        self._counts = {"rows": 0, "removed": 0, "no_words": 0, "pairs_checked": 0}

    @property
    def kept(self) -> int:
        return self._bot_of.n

    @property
    def nbytes(self) -> int:
        """Bytes held in numpy arrays (keys other than ints are held in a list besides)."""
        arrays = [self._fp.values, self._fp.offsets, self._bot_of, self._bot.values, self._bot.offsets]
        arrays += [self._bot_cut] + ([self._int_keys] if self._int_keys is not None else [])
        return self._index.nbytes + sum(g.data.nbytes for g in arrays)

    @property
    def stats(self) -> dict[str, Any]:
        """What it saw and removed, and the settings it used (JSON-ready)."""
        return {
            **self._counts,
            "kept": self.kept,
            "threshold": self.threshold,
            "shingle": self.shingle,
            "bands": self.bands,
            "rows_per_band": self.rows_per_band,
        }

    @overload
    def add_batch(
        self, keys: Sequence[Any], texts: Sequence[str], words: None = None
    ) -> list[Any | None]: ...
    @overload
    def add_batch(self, keys: Sequence[Any], texts: Sequence[Any], words: Words) -> list[Any | None]: ...
    def add_batch(
        self, keys: Sequence[Any], texts: Sequence[Any], words: Words | None = None
    ) -> list[Any | None]:
        """For each text, None if it is kept, else the key of the earlier row it nearly duplicates.

        `words`: word_hashes(texts), when the caller already has them; only the count of texts is read
        then, so range(n) will do.
        """
        if len(keys) != len(texts) or (words is not None and words[1].size != len(texts)):
            raise ValueError("keys, texts and words differ in length")
        keys = list(keys)
        out: list[Any | None] = []
        step = 8 * hashing.CHUNK  # bigger chunks: fewer, longer index runs and numpy calls a row
        for i in range(0, len(keys), step):
            part = slice(i, i + step)
            out.extend(
                self._add_chunk(
                    keys[part],
                    chunk_word_hashes(texts[part]) if words is None else select(words, part),
                )
            )
        return out

    def _view(self) -> SetView:
        fp, bot = self._fp, self._bot
        return SetView(
            fp.values.data,
            fp.offsets.data,
            self._bot_of.data,
            bot.values.data,
            bot.offsets.data,
            self._bot_cut.data,
        )

    def _key(self, ordinal: int) -> Any:
        return int(self._int_keys.data[ordinal]) if self._int_keys is not None else self._keys[ordinal]

    def _remember(self, keys: list[Any]) -> None:
        if self._int_keys is not None:
            if (
                set(map(type, keys)) <= {int}
                and -(2**63) <= min(keys, default=0) <= max(keys, default=0) < 2**63
            ):
                self._int_keys.extend(np.array(keys, dtype=np.int64))
                return
            self._keys = self._int_keys.view.tolist()
            self._int_keys = None
        self._keys.extend(keys)

    def _candidates(self, bkeys: np.ndarray, live: np.ndarray, base: int) -> tuple[np.ndarray, np.ndarray]:
        """Candidate pairs (row, other), at most MAX_CANDIDATES per row, most shared bands first.

        other < base: a kept row of an earlier chunk (its ordinal); base + j: row j < row of this chunk.
        """
        n = bkeys.shape[0]
        q = np.repeat(np.arange(n, dtype=np.int64), self.bands)[np.repeat(live, self.bands)]
        flat = bkeys[live].ravel()
        qi, old = self._index.lookup(flat, self.CAP)
        packed = np.sort((flat.astype(U64) << U64(32)) | q.astype(U64))  # this chunk: by key, then row
        fk, fq = packed >> U64(32), (packed & U64(0xFFFFFFFF)).astype(np.int64)
        first = group_starts(fk)
        cnt = np.minimum(np.arange(fk.size) - first, self.CAP)
        ok = np.flatnonzero(cnt > 0)
        ra = np.concatenate([q[qi], np.repeat(fq[ok], cnt[ok])])
        ob = np.concatenate([old, fq[ranges(first[ok], cnt[ok])] + base])
        ok = ob != ra + base  # two bands of one row can share a key by chance
        ra, ob = ra[ok], ob[ok]
        if not ra.size:
            return ra, ob
        pair = np.sort((ra << 40) | ob)
        first = np.flatnonzero(np.concatenate([[True], pair[1:] != pair[:-1]]))
        shared = np.diff(first, append=pair.size)
        pair = pair[first]
        ra, ob = pair >> 40, pair & ((1 << 40) - 1)
        o = np.lexsort((ob, -shared, ra))
        ra, ob = ra[o], ob[o]
        rank = np.arange(ra.size) - group_starts(ra)
        return ra[rank < self.MAX_CANDIDATES], ob[rank < self.MAX_CANDIDATES]

    def _add_chunk(self, keys: list[Any], words: Words) -> list[Any | None]:
        n = len(keys)
        g, per_text = gram_hashes(*words, self.shingle)
        doc = np.repeat(np.arange(n, dtype=np.int32), per_text)
        here = chunk_sets(g, per_text, n, self.SET_CAP, self._big)
        live = per_text > 0
        bkeys = self._hasher.keys(self._hasher.signatures(g, doc, n))
        base = self.kept
        ra, ob = self._candidates(bkeys, live, base)

        match = np.full(n, -1, dtype=np.int64)
        if ra.size:
            self._counts["pairs_checked"] += int(ra.size)
            old = ob < base
            sim = np.zeros(ra.size)
            i = np.flatnonzero(old)
            sim[i] = pair_similarity(ra[i], here, ob[i], self._view())
            i = np.flatnonzero(~old)
            sim[i] = pair_similarity(ra[i], here, ob[i] - base, here)
            good = sim >= self.threshold
            ra, ob, old = ra[good], ob[good], old[good]
            if old.any():  # earlier chunks: the earliest confirmed row wins
                best = np.full(n, base, dtype=np.int64)
                np.minimum.at(best, ra[old], ob[old])
                match = np.where(best < base, best, -1)
            new = np.flatnonzero(~old)
            new = new[match[ra[new]] < 0]
            if new.size:  # this chunk, in row order: the earliest confirmed row that is itself kept
                o = np.lexsort((ob[new], ra[new]))
                for r, j in zip(ra[new][o].tolist(), ob[new][o].tolist(), strict=True):
                    if match[r] < 0 and match[j - base] < 0:
                        match[r] = j
        removed = np.flatnonzero(match >= 0)
        self._counts["rows"] += n
        self._counts["removed"] += int(removed.size)
        self._counts["no_words"] += int(n - live.sum())
        result: list[Any | None] = [None] * n
        for r, m in zip(removed.tolist(), match[removed].tolist(), strict=True):
            result[r] = self._key(m) if m < base else keys[m - base]

        kept = np.flatnonzero((match < 0) & live)
        if kept.size:
            self._remember([keys[i] for i in kept.tolist()])
            sizes = here.fp_off[kept + 1] - here.fp_off[kept]
            self._fp.add(here.fp_vals[ranges(here.fp_off[kept], sizes)], sizes)
            rb = here.bot_of[kept]
            bot_of = np.full(kept.size, -1, np.int32)
            has = rb >= 0
            if has.any():
                rb = rb[has]
                bot_of[has] = self._bot_cut.n + np.arange(rb.size)
                sizes = here.bot_off[rb + 1] - here.bot_off[rb]
                self._bot.add(here.bot_vals[ranges(here.bot_off[rb], sizes)], sizes)
                self._bot_cut.extend(here.bot_cut[rb])
            self._bot_of.extend(bot_of)
            self._index.add(bkeys[kept].ravel(), np.repeat(base + np.arange(kept.size), self.bands))
        return result
