"""The shingle sets near-duplicate detection compares: 16-bit fingerprints of each text's shingles, or
for long texts a bottom-k set of 32-bit shingle hashes, and their Jaccard similarity, row pair by row
pair, vectorised."""

from __future__ import annotations

import numpy as np

from backend.prompts.dedup.arrays import U64, ranges, sorted_sets


class SetView:
    """The shingle sets of some rows (a chunk being added, or the kept rows), for pair_similarity.

    fp_vals/fp_off: the 16-bit fingerprints of each row's shingles, in text order (repeats included), for
    rows of at most set_cap shingles (empty for longer rows). bot_of: row -> its bottom-k set (the
    set_cap smallest distinct 32-bit shingle hashes), or -1 for rows too short to reach the threshold
    with a longer one. bot_cut: the largest value that set can hold: its last value when it was cut,
    else 2**32. (Sizes count repeats: a long text made of a few repeated phrases may be missed.)
    """

    __slots__ = ("fp_vals", "fp_off", "bot_of", "bot_vals", "bot_off", "bot_cut")

    def __init__(self, fp_vals, fp_off, bot_of, bot_vals, bot_off, bot_cut) -> None:
        self.fp_vals, self.fp_off, self.bot_of = fp_vals, fp_off, bot_of
        self.bot_vals, self.bot_off, self.bot_cut = bot_vals, bot_off, bot_cut


def chunk_sets(g: np.ndarray, per_text: np.ndarray, n: int, set_cap: int, big: int) -> SetView:
    """The SetView of a chunk of n texts from their shingle hashes g (per_text of each, text after text):
    fingerprints for texts of at most set_cap shingles, bottom-k sets for texts of more than big."""
    sizes = per_text  # shingles, counting repeats: the sets are compared as sets, so that is fine
    fp = (g & U64(0xFFFF)).astype(np.uint16)
    full = sizes <= set_cap
    if not full.all():
        fp = fp[np.repeat(full, sizes)]
    fp_off = np.concatenate([[0], np.cumsum(np.where(full, sizes, 0))])
    bot_rows = np.flatnonzero(sizes > big)
    bot_of = np.full(n, -1, np.int64)
    bot_of[bot_rows] = np.arange(bot_rows.size)
    bot_vals, bot_off, bot_cut = np.empty(0, np.uint32), np.zeros(1, np.int64), np.empty(0, U64)
    if bot_rows.size:
        doc = np.repeat(np.arange(n, dtype=np.int64), per_text)
        sel = (sizes > big)[doc]
        hv, hsize = sorted_sets(doc[sel], g[sel] >> U64(32), n, 32)
        hsize = hsize[bot_rows]
        take = np.minimum(hsize, set_cap)
        bot_vals = hv[ranges(np.cumsum(hsize) - hsize, take)].astype(np.uint32)
        bot_off = np.concatenate([[0], np.cumsum(take)])
        bot_cut = np.where(hsize > set_cap, bot_vals[bot_off[1:] - 1], 1 << 32).astype(U64)
    return SetView(fp, fp_off, bot_of, bot_vals, bot_off, bot_cut)


def _jaccard(a_vals, a_off, a_rows, b_vals, b_off, b_rows, a_cut=None, b_cut=None) -> np.ndarray:
    """Jaccard similarity of set a_rows[i] of one set store with set b_rows[i] of another, vectorised.

    Sets may hold repeats and need not be sorted. With cuts (the largest value a truncated bottom-k set
    can hold), both sets are first restricted to the values up to the smaller cut: the same hash range
    of both texts, compared exactly.
    """
    m = a_rows.size
    la = a_off[a_rows + 1] - a_off[a_rows]
    lb = b_off[b_rows + 1] - b_off[b_rows]
    xa = a_vals[ranges(a_off[a_rows], la)].astype(U64)
    xb = b_vals[ranges(b_off[b_rows], lb)].astype(U64)
    pa = np.repeat(np.arange(m, dtype=U64), la)
    pb = np.repeat(np.arange(m, dtype=U64), lb)
    if a_cut is not None:
        cut = np.minimum(a_cut, b_cut)
        ka, kb = xa <= cut[pa.astype(np.int64)], xb <= cut[pb.astype(np.int64)]
        xa, pa, xb, pb = xa[ka], pa[ka], xb[kb], pb[kb]
    # (pair, value, side) in one integer: sorting puts a value's copies from both sides next to each other
    packed = np.concatenate([(pa << U64(33)) | (xa << U64(1)), (pb << U64(33)) | (xb << U64(1)) | U64(1)])
    packed.sort()
    packed = packed[np.concatenate([[True], packed[1:] != packed[:-1]])]  # each set's distinct values
    pair = (packed >> U64(33)).astype(np.int64)
    both = (packed[1:] >> U64(1)) == (packed[:-1] >> U64(1))  # the same value on both sides
    inter = np.bincount(pair[1:][both], minlength=m)
    union = np.bincount(pair, minlength=m) - inter
    return np.divide(inter, union, out=np.zeros(m), where=union > 0)


def pair_similarity(ra: np.ndarray, a: SetView, rb: np.ndarray, b: SetView) -> np.ndarray:
    """Jaccard similarity of row ra[i] of `a` with row rb[i] of `b` (0: cannot reach the threshold)."""
    sim = np.zeros(ra.size)
    full = (a.fp_off[ra + 1] > a.fp_off[ra]) & (b.fp_off[rb + 1] > b.fp_off[rb])
    i = np.flatnonzero(full)
    if i.size:
        sim[i] = _jaccard(a.fp_vals, a.fp_off, ra[i], b.fp_vals, b.fp_off, rb[i])
    ba, bb = a.bot_of[ra], b.bot_of[rb]
    j = np.flatnonzero(~full & (ba >= 0) & (bb >= 0))
    if j.size:
        ba, bb = ba[j].astype(np.int64), bb[j].astype(np.int64)
        sim[j] = _jaccard(a.bot_vals, a.bot_off, ba, b.bot_vals, b.bot_off, bb, a.bot_cut[ba], b.bot_cut[bb])
    return sim
