"""Cleaning primitives (backend/prompts/dedup/, split.py, stats.py) on their own: pure functions, no database.

Similarities are checked against a reference computed here in plain Python (word 5-shingles of
`normalise(text).split()`), so a near-duplicate test states the Jaccard similarity it relies on.
"""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from backend.prompts.dedup import hashing
from backend.prompts.dedup.decontam import Decontaminator
from backend.prompts.dedup.exact import ExactDeduper
from backend.prompts.dedup.hashing import normalise, select, text_hashes, word_hashes
from backend.prompts.dedup.minhash import lsh_params
from backend.prompts.dedup.near import NearDeduper
from backend.prompts.split import split_of
from backend.prompts.stats import length_stats

pytestmark = pytest.mark.pure  # no database, broker or worker: `make test-fast` runs it with both down

VOCAB = [f"w{i}" for i in range(20_000)]


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choices(VOCAB, k=words))


def _texts(k: int, words: int = 60, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [_text(rng, words) for _ in range(k)]


def _shingles(t: str, k: int = 5) -> set[tuple[str, ...]]:
    w = normalise(t).split()
    if not w:
        return set()
    return {tuple(w[i : i + k]) for i in range(len(w) - k + 1)} if len(w) >= k else {tuple(w)}


def _jaccard(a: str, b: str, k: int = 5) -> float:
    x, y = _shingles(a, k), _shingles(b, k)
    return len(x & y) / len(x | y)


def _greedy(keys: list, texts: list[str], threshold: float = 0.8) -> list:
    """The reference: each row against every kept earlier row, in order, by exact Jaccard."""
    kept: list[tuple] = []
    out = []
    for key, s in zip(keys, map(_shingles, texts), strict=True):
        match = next((k for k, t in kept if s and len(s & t) / len(s | t) >= threshold), None)
        out.append(match)
        if match is None and s:
            kept.append((key, s))
    return out


def _replace(text: str, positions: list[int], tag: str = "edit") -> str:
    w = text.split()
    for i in positions:
        w[i] = f"{tag}{i}"
    return " ".join(w)


# --- word hashes, text hashes -------------------------------------------------------------------------


def test_word_hashes_split_like_str_split_and_hash_equal_words_equally():
    texts = [
        "Hello  World\tagain",
        "hello world",
        "naïve café\nNAÏVE",
        "tab\x0bvt\x0cff\r\ncr\x1cfs nbsp\u00a0ideographic\u3000space",
        "ctrl\x01inside stays one word",
        "abcdefgh abcdefghi abcdefghijklmnop abcdefghijklmnopq x" + "y" * 40,
        "",
        "   ",
    ]
    h, counts = word_hashes(texts)
    assert counts.tolist() == [len(normalise(t).split()) for t in texts]
    words = [w for t in texts for w in normalise(t).split()]
    assert len(words) == h.size
    # equal words (after lower-casing) hash equally, different words differently
    by_word: dict[str, int] = {}
    for w, x in zip(words, h.tolist(), strict=True):
        assert by_word.setdefault(w, x) == x
    assert len(set(by_word.values())) == len(by_word)


def test_word_hashes_tell_long_words_apart_by_every_byte():
    base = "abcdefghijklmnopqrstuvwxyz0123456789"
    variants = [base[:n] for n in range(1, len(base) + 1)]
    variants += [base[:i] + "#" + base[i + 1 :] for i in range(len(base))]
    h, counts = word_hashes([" ".join(variants)])
    assert counts.tolist() == [len(variants)] and len(set(h.tolist())) == len(variants)


def test_word_hashes_are_the_same_in_any_batch_and_chunking(monkeypatch):
    texts = _texts(50, seed=4) + ["Ünïcode words here", "x"]
    whole = word_hashes(texts)
    monkeypatch.setattr(hashing, "CHUNK", 7)
    chunked = word_hashes(texts)
    one_by_one = [word_hashes([t]) for t in texts]
    assert np.array_equal(whole[0], chunked[0]) and np.array_equal(whole[1], chunked[1])
    assert np.array_equal(whole[0], np.concatenate([w[0] for w in one_by_one]))


def test_text_hashes_ignore_case_and_spacing_only():
    texts = ["What is 2 + 2?", "  what IS 2 +\t\n2? ", "What is 2 + 3?", "What is 2+2?", "", "   "]
    hs = text_hashes(word_hashes(texts))
    assert all(len(h) == 32 and int(h, 16) >= 0 for h in hs)
    assert hs[0] == hs[1] and len({hs[0], hs[2], hs[3], hs[4]}) == 4
    assert hs[4] == hs[5]  # no words either way
    assert text_hashes(word_hashes(texts[:1])) == hs[:1]  # independent of the rest of the batch


def test_select_picks_the_words_of_the_chosen_texts():
    texts = _texts(10, words=7, seed=8) + ["", "one"]
    words = word_hashes(texts)
    mask = np.array([i % 3 == 0 for i in range(len(texts))])
    for rows in (mask, np.flatnonzero(mask), slice(2, 9), slice(0, 12, 4)):
        picked = [texts[i] for i in np.arange(len(texts))[rows]]
        want = word_hashes(picked)
        got = select(words, rows)
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


# --- exact duplicates ---------------------------------------------------------------------------------


def test_exact_duplicates_are_found_regardless_of_case_and_whitespace():
    texts = ["What is 2 + 2?", "  what IS 2 +   2? ", "What is 2 + 3?", "WHAT\tIS\n2 + 2?", "what is 2 + 3 ?"]
    hashes = text_hashes(word_hashes(texts))
    d = ExactDeduper()
    assert [d.add(k, h) for k, h in zip(["a", "b", "c", "d", "e"], hashes, strict=True)] == [
        None,
        "a",
        None,
        "a",
        None,
    ]
    assert d.stats == {"rows": 5, "removed": 2, "distinct": 3}
    # keys are whatever the caller uses, None included; the first occurrence always wins
    d2 = ExactDeduper()
    assert d2.add(None, hashes[0]) is None and d2.add(7, hashes[1]) is None and d2.add(8, hashes[0]) is None
    assert d2.stats["removed"] == 2


def test_exact_deduper_keeps_ints_not_strings():
    d = ExactDeduper()
    d.add(1, "0123456789abcdef0123456789abcdef")
    assert all(type(k) is int for k in d._seen)


# --- near duplicates ----------------------------------------------------------------------------------


def test_one_word_changed_in_sixty_is_a_near_duplicate():
    base = _texts(200, words=60)
    changed = _replace(base[17], [30])
    assert 0.8 < _jaccard(base[17], changed) < 0.85  # 51 of 61 shingles
    d = NearDeduper()
    assert d.add_batch(list(range(200)), base) == [None] * 200
    assert d.add_batch([1000, 1001], [changed, _texts(1, words=60, seed=99)[0]]) == [17, None]
    assert d.stats["removed"] == 1 and d.stats["kept"] == 201


def test_the_threshold_is_applied_to_the_true_jaccard():
    rng = random.Random(5)
    base = [_text(rng, 100) for _ in range(100)]
    above = [_replace(t, [20, 70]) for t in base]  # 86 of 106 shingles shared: 0.811
    below = [_replace(t, [10, 45, 80]) for t in base]  # 81 of 111: 0.730
    assert all(0.8 < _jaccard(a, b) < 0.82 for a, b in zip(base, above, strict=True))
    assert all(0.7 < _jaccard(a, b) < 0.75 for a, b in zip(base, below, strict=True))
    d = NearDeduper(threshold=0.8)
    d.add_batch(list(range(100)), base)
    assert d.add_batch(list(range(100, 200)), below) == [None] * 100  # candidates, rejected by the check
    assert d.stats["pairs_checked"] > 80
    found = d.add_batch(list(range(200, 300)), above)
    # LSH lets about 0.3% of pairs this close to the threshold through without a candidate
    assert sum(m == i for i, m in enumerate(found)) >= 98 and set(found) <= set(range(100)) | {None}
    # the same pairs with a lower threshold are all near duplicates
    d = NearDeduper(threshold=0.7)
    d.add_batch(list(range(100)), base)
    assert d.add_batch(list(range(100, 200)), below) == list(range(100))


def test_unrelated_and_partly_similar_texts_are_kept():
    rng = random.Random(6)
    a = [_text(rng, 80) for _ in range(100)]
    half = []
    for t in a:  # keep the first half of the words, replace the rest: Jaccard about 0.3
        w = t.split()
        half.append(" ".join(w[:40] + rng.choices(VOCAB, k=40)))
    overlap = [_replace(t, list(range(8, 80, 8))) for t in a]  # nine scattered edits: about 0.26
    assert max(_jaccard(x, y) for x, y in zip(a, half, strict=True)) < 0.35
    assert max(_jaccard(x, y) for x, y in zip(a, overlap, strict=True)) < 0.3
    d = NearDeduper()
    assert d.add_batch(list(range(100)), a) == [None] * 100
    assert d.add_batch(list(range(100, 300)), half + overlap) == [None] * 200
    # short templated prompts that differ in a number share no 5-shingle
    s = NearDeduper()
    assert s.add_batch([1, 2], ["Ava has 12 apples. How many?", "Ava has 13 apples. How many?"]) == [
        None,
        None,
    ]


def test_a_half_similar_pair_is_not_flagged():
    rng = random.Random(11)
    a = _text(rng, 100)
    w = a.split()
    b = " ".join(w[:66] + rng.choices(VOCAB, k=34))
    assert 0.45 < _jaccard(a, b) < 0.55
    assert NearDeduper().add_batch(["a", "b"], [a, b]) == [None, None]


def test_earlier_rows_win_within_and_across_batches():
    base = _texts(5, words=60, seed=2)
    v = lambda i, p: _replace(base[i], [p], tag="v")  # noqa: E731 - one word changed: Jaccard 0.84
    d = NearDeduper()
    # within a batch: later near duplicates point at the first row, even through a removed row
    first = d.add_batch(["a", "b", "c", "d"], [base[0], v(0, 10), base[1], v(0, 50)])
    assert first == [None, "a", None, "a"]
    # across batches: the earliest kept row wins, and a removed row is never matched
    assert d.add_batch(["e", "f"], [base[0].upper(), v(1, 20)]) == ["a", "c"]
    assert d.add_batch(["g"], [v(0, 10)]) == ["a"]  # equal to removed row "b": reported as "a"
    assert d.stats["removed"] == 5 and d.stats["kept"] == 2
    # a chain: y is near x, z is near y but not x; y is removed, so z stays (as row by row would have it)
    x, y = base[2], _replace(base[2], [10])
    z = _replace(y, [50])
    assert _jaccard(x, y) > 0.8 and _jaccard(y, z) > 0.8 and _jaccard(x, z) < 0.8
    assert NearDeduper().add_batch(["x", "y", "z"], [x, y, z]) == [None, "x", None]


def test_batches_larger_than_a_chunk_keep_row_order(monkeypatch):
    monkeypatch.setattr(hashing, "CHUNK", 16)
    base = _texts(40, words=60, seed=3)
    texts = base + [_replace(t, [25]) for t in base]  # each near copy after all originals
    texts[5] = _replace(base[30], [3])  # row 5: a near copy of the later row 30
    texts[12] = texts[40 + 33]  # row 12: the same text as row 73, and a near copy of row 33
    want = _greedy(list(range(80)), texts)
    assert (want[30], want[33], want[73], want[45], want[52]) == (5, 12, 12, None, None)
    assert NearDeduper().add_batch(list(range(80)), texts) == want


def test_matches_a_brute_force_reference():
    """Random prompts and edited copies (words replaced, inserted, deleted), in a random order; copies
    whose similarity is within a few hundredths of the threshold are left out, as MinHash LSH may miss a
    pair just above it (about 0.3% of pairs between 0.8 and 0.85, next to none above)."""
    rng = random.Random(21)
    texts = [_text(rng, rng.randint(30, 150)) for _ in range(300)]
    for t in texts[:300]:
        w = t.split()
        for _ in range(rng.randint(1, 3)):
            p = rng.randrange(len(w))
            op = rng.random()
            if op < 0.5:
                w[p] = f"x{rng.random()}"
            elif op < 0.75:
                w.insert(p, f"i{rng.random()}")
            else:
                del w[p]
        copy = " ".join(w)
        if not 0.76 < _jaccard(t, copy) < 0.85:
            texts.append(copy)
    rng.shuffle(texts)
    keys = list(range(len(texts)))
    want = _greedy(keys, texts)
    assert sum(m is not None for m in want) > 80
    d = NearDeduper()
    assert d.add_batch(keys[:200], texts[:200]) + d.add_batch(keys[200:], texts[200:]) == want


def test_precomputed_words_give_the_same_answers():
    texts = _texts(300, seed=9)
    texts += [_replace(t, [7]) for t in texts[:30]]
    keys = list(range(len(texts)))
    words = word_hashes(texts)
    alive = np.array([i % 7 != 3 for i in keys])
    kept = [t for t, a in zip(texts, alive, strict=True) if a]
    kept_keys = [k for k, a in zip(keys, alive, strict=True) if a]
    a = NearDeduper().add_batch(kept_keys, kept, select(words, alive))
    assert a == NearDeduper().add_batch(kept_keys, kept) == _greedy(kept_keys, kept)
    assert sum(m is not None for m in a) > 20


def test_near_dedup_is_deterministic_across_instances():
    texts = _texts(400, seed=3)
    texts += [_replace(t, [12]) for t in texts[:60]]
    texts += [t + " again" for t in texts[100:140]]
    random.Random(0).shuffle(texts)
    keys = [f"k{i}" for i in range(len(texts))]
    r1 = NearDeduper().add_batch(keys, texts)
    d2 = NearDeduper()
    r2 = d2.add_batch(keys[:250], texts[:250]) + d2.add_batch(keys[250:], texts[250:])
    assert r1 == r2
    assert sum(x is not None for x in r1) == 100


def test_long_texts_are_compared_on_a_bottom_k_sample():
    rng = random.Random(12)
    base = [_text(rng, 900) for _ in range(10)]  # 896 shingles: more than SET_CAP
    near = [_replace(t, list(range(30, 900, 90))) for t in base]  # 10 edits: about 0.89
    far = [_replace(t, list(range(5, 900, 22))) for t in base]  # 41 edits: about 0.63
    assert all(_jaccard(a, b) > 0.85 for a, b in zip(base, near, strict=True))
    assert all(_jaccard(a, b) < 0.7 for a, b in zip(base, far, strict=True))
    d = NearDeduper()
    d.add_batch(list(range(10)), base)
    assert d.add_batch(list(range(10, 20)), far) == [None] * 10
    assert d.add_batch(list(range(20, 30)), near) == list(range(10))
    # a short text is never merged with a long one that contains it
    assert d.add_batch([99], [" ".join(base[0].split()[:200])]) == [None]


def test_texts_without_words_and_short_texts():
    d = NearDeduper()
    assert d.add_batch([1, 2, 3, 4, 5], ["", "  ", "two words", "TWO  words", "two other"]) == [
        None,
        None,
        None,
        3,
        None,
    ]
    assert d.stats["no_words"] == 2


def test_keys_may_be_any_objects():
    texts = _texts(4, seed=13)
    d = NearDeduper()
    assert d.add_batch([1, 2, 3], texts[:3]) == [None] * 3
    assert d.add_batch([("x", 1)], [texts[3]]) == [None]  # from here on the keys are kept in a list
    assert d.add_batch([2**70, "s"], [texts[1] + " more", texts[3] + " more"]) == [2, ("x", 1)]


def test_lsh_parameters_favour_recall_at_the_threshold():
    for threshold in (0.5, 0.7, 0.8, 0.9, 0.95):
        b, r = lsh_params(threshold, 64)
        assert b * r <= 64 and 1 - (1 - threshold**r) ** b >= 0.995
    assert lsh_params(0.8, 64) == (11, 4)
    d = NearDeduper(threshold=0.8)
    assert (d.bands, d.rows_per_band, d.bins) == (11, 4, 64)
    assert d.stats["bands"] == 11 and json.dumps(d.stats)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        NearDeduper(threshold=0)
    with pytest.raises(ValueError):
        NearDeduper().add_batch([1, 2], ["only one text"])


# --- decontamination ----------------------------------------------------------------------------------

EVAL = [
    "The quick brown fox jumps over the lazy dog near the river bank today",
    "Solve for x when two x plus three equals eleven and show the work",
    "What is 2 + 2?",
]


def test_decontamination_finds_an_eval_row_inside_a_longer_prompt():
    d = Decontaminator(EVAL, n=8)
    train = [
        "Warm up first. SOLVE for x when two x plus three equals eleven, and show the work please.",
        "Intro text here. the quick  brown fox jumps over the lazy dog and more",
        "Something else entirely with many words in it but none of the eval ones at all",
    ]
    # 'eleven,' keeps its comma: the 8-grams up to 'equals eleven' are still there
    assert d.match_batch(train) == [1, 0, None]
    assert [d.match(t) for t in train] == [1, 0, None]
    assert d.stats == {"checked": 6, "matched": 4, "eval_grams": d.stats["eval_grams"]}


def test_decontamination_ignores_seven_shared_words():
    d = Decontaminator(EVAL, n=8)
    assert d.match("a quick brown fox jumps over the lazy cat") is None  # 7 words in a row
    assert d.match("so the quick brown fox jumps over the") is None  # 8 words, 7 of them shared
    assert d.match("the quick brown fox jumps over the lazy dog") == 0  # 8 shared words
    assert Decontaminator(EVAL, n=9).match("the quick brown fox jumps over the lazy dog") == 0
    assert Decontaminator(EVAL, n=10).match("the quick brown fox jumps over the lazy dog") is None


def test_decontamination_reports_the_first_eval_row_and_handles_short_texts():
    ev = ["alpha beta gamma delta epsilon zeta eta theta iota", "zero one " + EVAL[0], EVAL[0], "Hi there"]
    d = Decontaminator(ev, n=8)
    assert d.match(EVAL[0]) == 1  # rows 1 and 2 both contain it: the first wins
    assert d.match("prefix " + ev[0]) == 0
    assert d.match("  HI   there ") == 3  # shorter than n: the whole normalised text must match
    assert d.match("hi there you") is None and d.match("oh hi there") is None
    assert Decontaminator([], n=8).match(EVAL[0]) is None
    words = word_hashes(["x " + EVAL[1], "nothing"])
    assert Decontaminator(EVAL).match_batch(["x " + EVAL[1], "nothing"], words) == [1, None]


# --- split, statistics --------------------------------------------------------------------------------


def test_split_is_stable_and_near_the_ratio():
    hashes = text_hashes(word_hashes([f"prompt number {i}" for i in range(10_000)]))
    sides = [split_of(h, 0.1) for h in hashes]
    assert sides == [split_of(h, 0.1) for h in reversed(hashes)][::-1]  # order does not matter
    assert 0.09 < sides.count("eval") / len(sides) < 0.11
    assert 0.47 < [split_of(h, 0.5) for h in hashes].count("eval") / len(hashes) < 0.53
    # a bigger ratio only moves prompts from train to eval
    assert all(split_of(h, 0.2) == "eval" for h, s in zip(hashes, sides, strict=True) if s == "eval")
    assert {split_of(h, 0.0) for h in hashes} == {"train"} and {split_of(h, 1.0) for h in hashes} == {"eval"}
    a = [split_of(h, 0.5, "a") for h in hashes[:200]]
    assert a == [split_of(h, 0.5, "a") for h in hashes[:200]] != [split_of(h, 0.5, "b") for h in hashes[:200]]


@pytest.mark.parametrize(
    "values", [[5], list(range(1, 101)), [3, 3, 3, 10, 50], np.random.default_rng(0).integers(1, 5000, 997)]
)
def test_length_stats_agree_with_numpy(values):
    st = length_stats(values, percentiles=(50, 90, 99.5), bins=7)
    a = np.asarray(values)
    assert json.loads(json.dumps(st)) == st
    assert (st["count"], st["min"], st["max"]) == (a.size, a.min(), a.max())
    assert st["mean"] == round(float(a.mean()), 2)
    assert st["percentiles"] == {f"p{p:g}": round(float(np.percentile(a, p)), 2) for p in (50, 90, 99.5)}
    counts, edges = np.histogram(a, bins=7)
    assert st["histogram"] == {"edges": [round(float(e), 2) for e in edges], "counts": counts.tolist()}


def test_length_stats_of_nothing():
    st = length_stats([])
    assert st["count"] == 0 and st["percentiles"] == {} and st["histogram"] == {"edges": [], "counts": []}
