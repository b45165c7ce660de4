"""One definition of what a run's teacher cost and its cost per accepted trace (backend/runs/cost.py),
read by the run's API view and the dataset card alike."""

from __future__ import annotations

import pytest

from backend.datasets.card import render_card
from backend.runs.cost import cost_per_accepted_usd, teacher_cost_usd

pytestmark = pytest.mark.pure


def test_the_judges_calls_count_with_the_rollout_over_the_accepted_attempts():
    summary = {"rollout": {"cost_usd": 1.5}, "judge": {"cost_usd": 0.5}, "filter": {"accepted": 100}}
    assert teacher_cost_usd(summary) == 2.0
    assert cost_per_accepted_usd(summary) == 0.02
    assert cost_per_accepted_usd({"rollout": {"cost_usd": 1.5}, "filter": {"accepted": 3}}) == 0.5
    # nothing accepted yet (or no filter): no figure rather than a division by zero or a zero
    assert cost_per_accepted_usd({"rollout": {"cost_usd": 1.5}, "filter": {"accepted": 0}}) is None
    assert cost_per_accepted_usd({"rollout": {"cost_usd": 1.5}}) is None
    assert teacher_cost_usd(None) == 0.0 and cost_per_accepted_usd({}) is None


def test_the_card_prints_the_figure_it_is_given_not_the_filters_own():
    summary = {"rollout": {"cost_usd": 1.5}, "judge": {"cost_usd": 0.5}, "filter": {"accepted": 100}}
    filter_summary = {"verified": 200, "accepted": 100, "rejected": 100, "undecided": 0}
    card = render_card(
        name="s", content_hash="h", configs=["messages"], teacher=None, warnings=[], prompt_set=None,
        verifiers=None, selection={}, counts={"preference_pairs": 0},
        filter_summary={**filter_summary, "cost_per_accepted_usd": 0.015},  # the rollout's alone
        run={"id": 1, "name": "r", "recipe_version": 1}, cost_per_accepted=cost_per_accepted_usd(summary),
    )  # fmt: skip
    assert "- teacher cost per accepted trace (rollout and judge): $0.020000" in card
    assert "0.015" not in card
