"""Selection policies on one prompt's attempts, each on its own."""

from __future__ import annotations

from backend.datasets.schemas import SnapshotSettings
from backend.datasets.selection import Attempt, assistant_text, drop_near_duplicates, select_prompt


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
    import pytest
    from pydantic import ValidationError

    from backend.runs.schemas import Recipe

    base = {"prompt_set_id": 1, "teacher_id": 1, "snapshot": {"pick": "judge_score", "max_per_prompt": 1}}
    with pytest.raises(ValidationError, match="add 'judge' before 'snapshot'"):
        Recipe.model_validate({**base, "stages": ["rollout", "filter", "snapshot"]})
    ok = Recipe.model_validate({**base, "stages": ["rollout", "filter", "judge", "snapshot"]})
    assert ok.snapshot.pick == "judge_score"
