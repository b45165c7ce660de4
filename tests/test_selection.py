"""Selection policies on one prompt's attempts, each on its own."""

from __future__ import annotations

import pytest

from backend.datasets.card import cut_line, reasoning_form
from backend.datasets.schemas import SnapshotSettings
from backend.datasets.selection import (
    Attempt,
    assistant_text,
    cut_reasoning,
    drop_near_duplicates,
    select_prompt,
)

pytestmark = pytest.mark.pure  # no database, broker or worker: `make test-fast` runs it with both down


def _a(i: int, accepted, text: str, tokens: int | None = None) -> Attempt:
    return Attempt(i + 100, i, accepted, f"working {text}", f"\\boxed{{{i}}}", tokens)


ATTEMPTS = [
    _a(0, True, "one two three four five six seven", 30),
    _a(1, False, "wrong turn somewhere in the middle here", 20),
    Attempt(102, 2, True, "working one two three four five six seven", "\\boxed{0}", 30),  # a copy of 0
    _a(3, True, "a different path to the same place entirely", 10),
    _a(4, None, "timed out", 5),
]


def test_defaults_keep_every_accepted_attempt_once_and_pair_with_a_rejected_one():
    p = select_prompt(7, ATTEMPTS, SnapshotSettings())
    assert [a.attempt for a in p.rows] == [0, 3]  # attempt 2 is a near duplicate of 0
    assert (p.accepted, p.after_band, p.after_near_duplicates) == (3, 3, 2)
    assert [(c.attempt, r.attempt) for c, r in p.pairs] == [(0, 1)]


def test_band_drops_prompts_outside_it():
    assert select_prompt(7, ATTEMPTS, SnapshotSettings(pass_rate_band=(0.1, 0.5))).rows == []  # 3/5 = 0.6
    assert len(select_prompt(7, ATTEMPTS, SnapshotSettings(pass_rate_band=(0.1, 0.6))).rows) == 2


def test_k_per_prompt_shortest_or_seeded_random():
    s = SnapshotSettings(drop_near_duplicates=False, max_per_prompt=1)
    assert [a.attempt for a in select_prompt(7, ATTEMPTS, s).rows] == [3]  # 10 tokens
    r = SnapshotSettings(drop_near_duplicates=False, max_per_prompt=2, pick="random", seed=5)
    first = [a.attempt for a in select_prompt(7, ATTEMPTS, r).rows]
    assert first == [a.attempt for a in select_prompt(7, ATTEMPTS, r).rows] and len(first) == 2


def test_include_all_is_the_unfiltered_ablation():
    p = select_prompt(7, ATTEMPTS, SnapshotSettings(include="all", drop_near_duplicates=False))
    assert [a.attempt for a in p.rows] == [0, 1, 2, 3, 4] and p.pairs == []


def test_near_duplicates_and_the_assistant_turn():
    assert len(drop_near_duplicates(ATTEMPTS, 0.8)) == 4
    assert assistant_text("step", "\\boxed{1}") == "<think>\nstep\n</think>\n\n\\boxed{1}"
    assert assistant_text(None, "\\boxed{1}") == "\\boxed{1}"


def test_best_of_n_by_judge_score_keeps_the_highest_scored():
    scored = [
        Attempt(200, 0, True, "w a", "\\boxed{1}", 10, 2.0),
        Attempt(201, 1, True, "w b", "\\boxed{1}", 50, 5.0),
        Attempt(202, 2, True, "w c", "\\boxed{1}", 20, None),
        Attempt(203, 3, True, "w d", "\\boxed{1}", 30, 4.0),
    ]
    s = SnapshotSettings(drop_near_duplicates=False, max_per_prompt=2, pick="judge_score")
    assert [a.attempt for a in select_prompt(1, scored, s).rows] == [1, 3]


def test_best_of_n_needs_the_judge_stage():
    from pydantic import ValidationError

    from backend.runs.schemas import Recipe

    base = {"prompt_set_id": 1, "teacher_id": 1, "snapshot": {"pick": "judge_score", "max_per_prompt": 1}}
    with pytest.raises(ValidationError, match="add 'judge' before 'snapshot'"):
        Recipe.model_validate({**base, "stages": ["rollout", "filter", "snapshot"]})
    ok = Recipe.model_validate({**base, "stages": ["rollout", "filter", "judge", "snapshot"]})
    assert ok.snapshot.pick == "judge_score"


def _r(i: int, accepted, reasoning, content, finish="stop") -> Attempt:
    return Attempt(300 + i, i, accepted, reasoning, content, 10 + i, finish_reason=finish)


def test_cut_reasoning_names_why_a_trace_is_not_whole():
    assert cut_reasoning(_r(0, True, "all of it", "\\boxed{4}")) is None
    assert cut_reasoning(_r(0, True, None, "\\boxed{4}")) is None  # no reasoning at all: nothing to cut
    assert cut_reasoning(_r(0, True, None, "<think>a</think>\\boxed{4}")) is None  # inline and closed
    # stopped at max_tokens: cut, even where an answer came before the cut (it may be half of one)
    assert cut_reasoning(_r(0, True, "half a thou", "", "length")) == "truncated"
    assert cut_reasoning(_r(0, True, "thought", "\\boxed{4", "length")) == "truncated"
    assert cut_reasoning(_r(0, True, None, "an R1 trace with no tags, cut", "length")) == "truncated"
    # reasoning and nothing after it, or an inline <think> that never closed
    assert cut_reasoning(_r(0, True, "thought", "  \n", "stop")) == "no_answer"
    assert cut_reasoning(_r(0, True, None, "<think>never closed", "stop")) == "no_answer"
    assert cut_reasoning(_r(0, True, "thought", None, None)) == "no_answer"


def test_cut_traces_never_become_rows_or_pairs_and_are_counted_by_reason():
    attempts = [
        _r(0, True, "whole reasoning one", "\\boxed{4}"),
        _r(1, True, "cut reasoning at the token limit", "", "length"),
        _r(2, True, "reasoning with nothing after", "", "stop"),
        _r(3, False, "a cut wrong path", "", "length"),
        _r(4, False, "a whole wrong path", "\\boxed{5}"),
        _r(5, True, "another whole reasoning here", "\\boxed{4}"),
    ]
    p = select_prompt(1, attempts, SnapshotSettings(drop_near_duplicates=False))
    assert [a.attempt for a in p.rows] == [0, 5]
    assert p.cut == {"truncated": 1, "no_answer": 1} and p.rejected_cut == 1
    assert (p.accepted, p.after_cut, p.after_band) == (4, 2, 2)
    assert [(c.attempt, r.attempt) for c, r in p.pairs] == [(0, 4)]  # never the cut rejected attempt 3
    # The band reads the teacher's acceptance over all attempts (4 of 6), cut ones included.
    assert select_prompt(1, attempts, SnapshotSettings(pass_rate_band=(0.6, 0.7))).after_band == 2
    # Unfiltered (include all): every cut attempt is still left out, the rejected one too.
    everything = select_prompt(1, attempts, SnapshotSettings(include="all", drop_near_duplicates=False))
    assert [a.attempt for a in everything.rows] == [0, 4, 5]
    assert everything.cut == {"truncated": 2, "no_answer": 1}


def test_a_cut_trace_is_never_closed_with_a_synthetic_think():
    with pytest.raises(ValueError, match="never closed"):
        assistant_text("half a thought", "")
    with pytest.raises(ValueError, match="never closed"):
        assistant_text("half a thought", None)
    assert assistant_text("whole", " \\boxed{4} ") == "<think>\nwhole\n</think>\n\n\\boxed{4}"


def test_the_card_says_which_reasoning_form_the_snapshot_holds_and_what_was_left_out():
    counts = {"accepted": 6, "after_cut_reasoning": 4, "excluded_truncated": 1, "excluded_no_answer": 1,
              "rejected_cut": 2, "rows_with_reasoning": 3, "after_max_per_prompt": 4}  # fmt: skip
    assert reasoning_form({"reasoning": "keep"}, counts).startswith("inline, in 3 of 4 rows: ")
    assert reasoning_form({"reasoning": "keep"}, {**counts, "rows_with_reasoning": 0}).startswith("none: ")
    assert reasoning_form({"reasoning": "drop"}, counts).startswith("dropped (snapshot.reasoning: drop)")
    assert cut_line(counts) == (
        "left out, never closed with a `</think>` the teacher did not write: 1 accepted attempts stopped at "
        "max_tokens (truncated), 1 with reasoning and no answer after it; 2 rejected ones with a cut "
        "reasoning kept out of preference pairs"
    )
    assert cut_line({**counts, "excluded_truncated": 0, "excluded_no_answer": 0, "rejected_cut": 0}) is None


def test_shingles_are_the_hashes_of_every_five_word_window():
    import re

    from backend.datasets.selection import jaccard, shingles

    def by_hand(text: str) -> frozenset[int]:  # the definition, one window at a time
        words = re.findall(r"\w+", text.lower())
        if len(words) < 5:
            return frozenset({hash(tuple(words))}) if words else frozenset()
        return frozenset(hash(tuple(words[i : i + 5])) for i in range(len(words) - 4))

    for text in (
        "",
        "one two",
        "a b c d e",
        "A b, c d e f g!",
        "x " * 40 + "y z",
        _a(3, True, "q").reasoning,
    ):
        assert shingles(text) == by_hand(text)
    a, b = shingles("a b c d e f g h"), shingles("a b c d e f g i")
    assert jaccard(a, b) == len(a & b) / len(a | b) == 3 / 5


def test_one_attempt_is_never_a_near_duplicate():
    assert drop_near_duplicates(ATTEMPTS[:1], 0.0) == ATTEMPTS[:1]
    assert drop_near_duplicates([], 0.8) == []
