"""The cleaning primitives on their own: no database, exact expectations."""

from __future__ import annotations

import random

import numpy as np
import pytest

from backend.prompts.dedup.decontam import Decontaminator
from backend.prompts.dedup.exact import ExactDeduper
from backend.prompts.dedup.hashing import word_hashes
from backend.prompts.dedup.near import NearDeduper
from backend.prompts.importer import ParsedPrompt
from backend.prompts.split import split_of
from backend.prompts.stats import length_stats


def _texts(k: int, words: int = 60, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    vocab = [f"tok{i}" for i in range(4000)]
    return [" ".join(rng.choices(vocab, k=words)) for _ in range(k)]


def _jaccard(a: str, b: str, k: int = 5) -> float:
    def sh(t):
        w = t.lower().split()
        return {tuple(w[i : i + k]) for i in range(len(w) - k + 1)}

    x, y = sh(a), sh(b)
    return len(x & y) / len(x | y)


def test_word_hashes_match_str_split_and_ignore_case():
    texts = ["Hello  World\tagain", "hello world", "x", "naïve café\nnaïve"]
    h, counts = word_hashes(texts)
    assert counts.tolist() == [len(t.split()) for t in texts]
    assert h[0] == h[3] and h[1] == h[4]  # "Hello"/"hello", "World"/"world"
    assert h[6] == h[8] and h[6] != h[7]  # naïve twice, café different
    assert len(set(h[:3].tolist())) == 3


def test_exact_deduper_first_wins_regardless_of_case_and_spacing():
    d = ExactDeduper()
    a, b = ParsedPrompt(1, "What is 2 + 2?"), ParsedPrompt(2, "  what IS 2 +   2? ")
    assert d.add(1, a.text_hash) is None
    assert d.add(2, b.text_hash) == 1
    assert d.add(3, ParsedPrompt(3, "What is 2 + 3?").text_hash) is None


def test_near_duplicates_found_across_and_within_batches_earlier_wins():
    base = _texts(300)
    words = base[10].split()
    words[30] = "changed"
    near = " ".join(words)
    assert _jaccard(base[10], near) > 0.8
    d = NearDeduper()
    assert d.add_batch(list(range(300)), base) == [None] * 300
    assert d.add_batch([1000, 1001], [near, _texts(1, seed=9)[0]]) == [10, None]
    # within one batch: the later of two near-identical rows is reported with the earlier key
    fresh = NearDeduper()
    assert fresh.add_batch(["a", "b", "c"], [base[0], base[1], base[0] + " extra"]) == [None, None, "a"]


def test_pairs_below_the_threshold_are_kept():
    a = _texts(1, words=40, seed=1)[0]
    words = a.split()
    for i in range(0, 40, 10):  # four scattered edits: Jaccard well under 0.8
        words[i] = f"edit{i}"
    b = " ".join(words)
    assert _jaccard(a, b) < 0.6
    d = NearDeduper(threshold=0.8)
    assert d.add_batch([1, 2], [a, b]) == [None, None]
    # short templated prompts that differ in a number are not merged by chance
    s = NearDeduper()
    assert s.add_batch([1, 2], ["Ava has 12 apples. How many?", "Ava has 13 apples. How many?"]) == [
        None,
        None,
    ]


def test_near_dedup_is_deterministic():
    texts = _texts(500, seed=3)
    texts += [t + " again" for t in texts[:50]]
    r1 = NearDeduper().add_batch(list(range(len(texts))), texts)
    r2 = NearDeduper().add_batch(list(range(len(texts))), texts)
    assert r1 == r2 and sum(x is not None for x in r1) == 50


def test_decontaminator_finds_embedded_eval_rows_and_ignores_short_overlaps():
    ev = [
        "the quick brown fox jumps over the lazy dog near the river bank today",
        "solve for x when two x plus three equals eleven and show the work",
    ]
    d = Decontaminator(ev, n=8)
    assert d.match("Warm up. Solve for x when two x plus three equals eleven and show the work, please.") == 1
    assert d.match("a quick brown fox jumps over the lazy cat") is None  # 7 shared words in a row
    assert d.match("the quick brown fox jumps over the lazy dog") == 0  # 8 shared words
    assert d.match_batch(["nothing in common here at all", ev[0]]) == [None, 0]
    assert Decontaminator([], n=8).match(ev[0]) is None


def test_split_is_stable_and_near_the_ratio():
    hashes = [f"{i:032x}" for i in range(10_000)]
    sides = [split_of(h, 0.1) for h in hashes]
    assert sides == [split_of(h, 0.1) for h in hashes]
    assert 0.08 < sides.count("eval") / len(sides) < 0.12
    assert split_of(hashes[0], 0.0) == "train"
    assert [split_of(h, 0.5, "a") for h in hashes[:200]] != [split_of(h, 0.5, "b") for h in hashes[:200]]


@pytest.mark.parametrize("values", [[5], list(range(1, 101)), [3, 3, 3, 10, 50]])
def test_length_stats_agree_with_numpy(values):
    st = length_stats(values, percentiles=(50, 90), bins=5)
    a = np.array(values)
    assert (st["count"], st["min"], st["max"]) == (a.size, a.min(), a.max())
    assert st["percentiles"] == {
        "p50": round(float(np.percentile(a, 50)), 2),
        "p90": round(float(np.percentile(a, 90)), 2),
    }
    assert sum(st["histogram"]["counts"]) == a.size and len(st["histogram"]["edges"]) == 6


def _reference_word_hash(word: bytes) -> int:
    """The word hash as stated plainly: 8 bytes at a time, each pass mixing in the hash so far."""
    m = (1 << 64) - 1

    def mix(x: int) -> int:
        x ^= x >> 30
        x = (x * 0xBF58476D1CE4E5B9) & m
        x ^= x >> 27
        x = (x * 0x94D049BB133111EB) & m
        return x ^ (x >> 31)

    h = int.from_bytes(word[:8], "little")
    for k in range(1, (len(word) + 7) // 8):
        h = (int.from_bytes(word[8 * k : 8 * k + 8], "little") + mix((h + k) & m)) & m
    return mix((h + 0x9E3779B97F4A7C15) & m)


@pytest.mark.parametrize("n_long", [1, 3, 9])
def test_long_words_hash_as_the_plain_statement_whatever_their_number(n_long):
    """Few long words are finished in Python, many by numpy passes: both give the documented bits."""
    rng = random.Random(n_long)
    words = [
        "".join(rng.choices("abcdefXYZ0189+/=", k=rng.choice([1, 8, 9, 17, 64, 5_003, 40_001])))
        for _ in range(n_long)
    ]
    texts = [" ".join(words), "short words here"]
    h, counts = word_hashes(texts)
    expected = [_reference_word_hash(w.lower().encode()) for w in words + texts[1].split()]
    assert counts.tolist() == [n_long, 3]
    assert h.tolist() == expected


@pytest.mark.parametrize(
    ("key", "ref", "final", "kept"),
    [
        (
            "solution",
            "So $x=\\boxed{\\frac{1}{2}}$, not \\boxed{3}... wait: $\\boxed{\\frac{a}{b}}$.",
            "\\frac{a}{b}",
            True,
        ),
        ("solution", "No box here.", "No box here.", False),
        ("solution", "Unclosed \\boxed{1", "Unclosed \\boxed{1", False),
        ("answer", "2 + 2 = 4\n#### 4", "4", True),
        ("answer", "just 4", "just 4", False),
        ("output", "\\boxed{5}", "\\boxed{5}", False),
    ],
)
def test_references_keep_the_final_answer_for_verifiers_and_the_worked_text(key, ref, final, kept):
    from backend.prompts.references import split_reference

    got, worked = split_reference(key, ref)
    assert got == final
    assert (worked is not None) == kept
    if worked:
        assert ref.startswith(next(iter(worked.values()))[:5])


def test_a_list_valued_question_is_a_wrong_type_not_a_messages_error():
    from backend.prompts.importer import RecordMapper
    from backend.prompts.report import Report
    from backend.prompts.schemas import ColumnMapping

    report = Report()
    assert RecordMapper(ColumnMapping(), report)(1, {"question": ["what", "is", "2+2"]}) is None
    (err,) = report.errors
    assert (err.field, err.reason) == ("question", "wrong_type") and "messages[0]" not in err.message
