"""The evaluation's estimators on hand-computed values."""

from __future__ import annotations

from math import comb

import pytest

from backend.evals.metrics import bootstrap_ci, majority_correct, pass_at_k, score

pytestmark = pytest.mark.pure  # no database, broker or worker: `make test-fast` runs it with both down


def test_pass_at_k_is_the_unbiased_estimator():
    assert pass_at_k(10, 0, 1) == 0.0
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    assert pass_at_k(10, 3, 5) == pytest.approx(1 - comb(7, 5) / comb(10, 5))  # 1 - 21/252
    assert pass_at_k(4, 2, 4) == 1.0 and pass_at_k(4, 0, 4) == 0.0
    with pytest.raises(ValueError, match="at least 5"):
        pass_at_k(4, 1, 5)


def test_majority_vote_counts_stated_answers():
    assert majority_correct([("7", False), ("42", True), ("42", True)]) is True
    assert majority_correct([("7", False), ("7", False), ("42", True)]) is False
    assert majority_correct([(None, False), (None, False)]) is False


def test_score_over_prompts():
    per_prompt = {
        1: [("42", True), ("42", True), ("7", False), ("42", True)],  # 3 of 4
        2: [("1", False), ("2", False), ("3", True), ("1", False)],  # 1 of 4, majority wrong
    }
    s = score(per_prompt, resamples=2000, seed=0)
    assert s["pass_at_1"] == pytest.approx((0.75 + 0.25) / 2)
    assert s["pass_at_k"] == 1.0 and s["maj_at_k"] == 0.5
    lo, hi = s["pass_at_1_ci"]
    assert 0.25 <= lo <= 0.5 <= hi <= 0.75


def test_bootstrap_is_seeded_and_brackets_the_mean():
    values = [1.0] * 30 + [0.0] * 70
    a = bootstrap_ci(values, resamples=1000, seed=1)
    assert a == bootstrap_ci(values, resamples=1000, seed=1)
    assert a[0] < 0.3 < a[1] and a[1] - a[0] < 0.25
