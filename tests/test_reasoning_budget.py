"""Thinking-length control, its pure parts: the shortest_verified policy, the reasoning token count,
the budget's request field or its max_tokens fallback, and accuracy against reasoning length."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from backend.datasets.card import render_card
from backend.datasets.schemas import SnapshotSettings
from backend.datasets.selection import Attempt, select_prompt
from backend.evals.metrics import reasoning_length_report
from backend.rollouts.requests import resolve_max_tokens
from backend.rollouts.schemas import RolloutSettings
from backend.teachers.models import Teacher
from workers.stages.rollout.job import sampling_of
from workers.teachers.base import Completion, reasoning_token_count
from workers.teachers.factory import TeacherSpec
from workers.teachers.openai_compat import _parse

pytestmark = pytest.mark.pure


def _a(i: int, accepted, think: int | None, answer: str = "x") -> Attempt:
    # distinct texts, so near-duplicate dropping keeps them all
    return Attempt(
        100 + i, i, accepted, f"step {i} " * 3, f"\\boxed{{{answer}{i}}}", 50 + i, None, "stop", think
    )


ATTEMPTS = [_a(0, True, 900), _a(1, True, 300), _a(2, False, 100), _a(3, True, 450), _a(4, True, 2000)]


def test_shortest_verified_keeps_the_shortest_accepted_traces_within_the_budget():
    one = select_prompt(1, ATTEMPTS, SnapshotSettings(pick="shortest_verified", budget=1000))
    assert [a.attempt for a in one.rows] == [1]  # 2 is shorter but rejected
    two = select_prompt(
        1, ATTEMPTS, SnapshotSettings(pick="shortest_verified", budget=1000, max_per_prompt=2)
    )
    assert [a.attempt for a in two.rows] == [1, 3]
    three = select_prompt(
        1, ATTEMPTS, SnapshotSettings(pick="shortest_verified", budget=1000, max_per_prompt=9)
    )
    assert [a.attempt for a in three.rows] == [0, 1, 3]  # 4 (2000 tokens) is over the budget


def test_shortest_verified_keeps_nothing_when_no_verified_trace_fits():
    p = select_prompt(1, ATTEMPTS, SnapshotSettings(pick="shortest_verified", budget=200))
    assert p.rows == [] and p.pairs == []


def test_shortest_verified_reads_characters_where_no_token_count_was_recorded():
    long, short = (
        Attempt(1, 0, True, "w" * 4000, "\\boxed{1}", None),
        Attempt(2, 1, True, "v" * 400, "ok", None),
    )
    p = select_prompt(1, [long, short], SnapshotSettings(pick="shortest_verified", budget=500))
    assert [a.attempt for a in p.rows] == [1]  # 4000 characters ~ 1000 tokens: over


@pytest.mark.parametrize(
    ("fields", "word"),
    [
        ({"pick": "shortest_verified"}, "budget"),
        ({"pick": "shortest_verified", "budget": 10, "include": "all"}, "include"),
        ({"budget": 10}, "budget"),
        ({"pick": "shortest_verified", "budget": 0}, "budget"),
    ],
)
def test_shortest_verified_settings_are_checked(fields, word):
    with pytest.raises(ValidationError) as e:
        SnapshotSettings(**fields)
    assert word in str(e.value)


def test_reasoning_tokens_come_from_the_server_else_from_the_text_share():
    data = {
        "choices": [{"message": {"content": "42", "reasoning_content": "think"}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": 5,
            "completion_tokens": 40,
            "completion_tokens_details": {"reasoning_tokens": 31},
        },
    }
    (c,) = _parse(data, 1) or []
    assert reasoning_token_count(c) == 31
    assert reasoning_token_count(Completion("a" * 25, "r" * 75, "stop", 1, 100)) == 75
    assert reasoning_token_count(Completion("answer", None, "stop", 1, 100)) == 0
    assert reasoning_token_count(Completion(None, error="http 500")) is None


def _teacher(backend: str, settings: dict) -> Teacher:
    return Teacher(name="t", backend=backend, model="m", base_url="http://x/v1", settings=settings)


def test_a_vllm_teacher_with_a_reasoning_parser_gets_the_thinking_token_budget():
    t = _teacher("vllm", {"reasoning_parser": "deepseek_r1", "max_model_len": 8192})
    r = RolloutSettings(reasoning_budget=512)
    assert resolve_max_tokens(r, t).value == 8192  # the server ends the think block: no cap needed
    spec = TeacherSpec("vllm", "m", "http://x/v1", None, t.settings)
    body = sampling_of(r.model_copy(update={"max_tokens": 8192}), spec).openai_body()
    assert body["thinking_token_budget"] == 512


def test_other_teachers_get_max_tokens_of_budget_plus_answer_allowance():
    t = _teacher("openai_compat", {})
    r = RolloutSettings(reasoning_budget=512, answer_tokens=256)
    cap = resolve_max_tokens(r, t)
    assert cap.value == 768 and "reasoning budget 512" in cap.source
    spec = TeacherSpec("openai_compat", "m", "http://x/v1", None, {})
    assert (
        "thinking_token_budget"
        not in sampling_of(r.model_copy(update={"max_tokens": 768}), spec).openai_body()
    )
    # a smaller max_tokens set in the rollout still wins
    assert resolve_max_tokens(r.model_copy(update={"max_tokens": 600}), t).value == 600


def test_reasoning_length_report_histogram_and_cutoffs():
    samples = [(100, True), (150, True), (900, False), (1200, True), (3000, False), (None, False)]
    rep = reasoning_length_report(samples, bins=4, cutoffs=[200, 1000])
    assert sum(rep["passing"]) == 3 and sum(rep["failing"]) == 2  # the unknown length is left out
    assert rep["edges"][0] == 0 and rep["edges"][-1] == 3000
    assert rep["passing"][0] == 2 and rep["failing"][-1] == 1  # 100, 150 in the first bin; 3000 in the last
    # answers longer than the cut-off count as failures; over every sample with a length
    assert rep["at_budget"] == [
        {"budget": 200, "accuracy": round(2 / 5, 4), "within": 2},
        {"budget": 1000, "accuracy": round(2 / 5, 4), "within": 3},
    ]
    assert rep["unknown"] == 1


def test_reasoning_length_report_of_nothing():
    rep = reasoning_length_report([], bins=4, cutoffs=[100])
    assert rep["passing"] == [] and rep["at_budget"] == [{"budget": 100, "accuracy": 0.0, "within": 0}]


def test_the_card_says_the_length_policy():
    def card(selection):
        return render_card(
            name="s", content_hash="h", configs=["messages"], teacher=None, warnings=[], prompt_set=None,
            verifiers=None, selection=selection, counts={"preference_pairs": 0}, filter_summary=None,
            run={"id": 1, "name": "r", "recipe_version": 1}, cost_per_accepted=None,
        )  # fmt: skip

    assert "shortest verified trace(s) within 2048 think tokens" in card(
        {"pick": "shortest_verified", "budget": 2048}
    )
    assert "think tokens" not in card({"pick": "shortest"})
