"""What an experiment compares (factors from recipes, the evaluation set), the paired difference and the
pressure test's verdict, on hand-made values."""

from __future__ import annotations

import pytest

from backend.evals.metrics import paired_difference
from backend.experiments.factors import eval_set, factors
from backend.experiments.verdict import pressure_verdict

pytestmark = pytest.mark.pure


def test_factors_are_the_settings_that_differ_named_where_people_name_them():
    base = {"prompt_set_id": 1, "stages": ["rollout", "filter", "train", "evaluate"], "teacher_id": 3,
            "rollout": {"n": 4, "concurrency": 8, "reasoning_budget": None}, "train": {"method": "sft"},
            "evaluate": {"split": "eval", "k": 1}}  # fmt: skip
    other = {**base, "stages": ["rollout", "train", "evaluate"], "teacher_id": 4,
             "rollout": {"n": 4, "concurrency": 64, "reasoning_budget": 512}, "train": {"method": "kd"},
             "evaluate": {"split": "eval", "k": 4}}  # fmt: skip
    got = factors([base, other])
    assert [(f["name"], f["values"]) for f in got] == [
        ("filter", [True, False]),
        ("teacher", [3, 4]),
        ("thinking budget", [None, 512]),
        ("train method", ["sft", "kd"]),
    ]  # concurrency (speed) and the evaluation's own settings are no factors
    assert factors([base, base]) == []
    # a stage's settings mean nothing where the stage did not run: only its on/off differs
    judged = {**base, "stages": [*base["stages"], "judge"], "judge": {"rubric_id": 1}}
    assert [f["path"] for f in factors([base, judged])] == ["stages.judge"]
    # an unnamed setting keeps its recipe path as its name
    seeded = {**base, "rollout": {**base["rollout"], "temperature": 0.7, "seed": 1}}
    assert [
        f["name"] for f in factors([seeded, {**seeded, "rollout": {**seeded["rollout"], "seed": 2}}])
    ] == ["rollout.seed"]


def test_the_evaluation_set_is_the_prompts_scored():
    assert eval_set({"prompt_set_id": 1, "stages": ["rollout"]}) is None
    assert eval_set({"prompt_set_id": 1, "stages": ["evaluate"], "evaluate": {"split": "eval"}}) == {
        "prompt_set_id": 1, "split": "eval", "max_prompts": None}  # fmt: skip
    # a separate evaluation prompt set is evaluated whole, whatever split says
    own = {"prompt_set_id": 1, "stages": ["evaluate"], "evaluate": {"prompt_set_id": 9, "max_prompts": 5}}
    assert eval_set(own) == {"prompt_set_id": 9, "split": "all", "max_prompts": 5}


def test_paired_difference_over_shared_prompts():
    a = {1: 1.0, 2: 1.0, 3: 0.5, 4: 0.0}
    b = {1: 0.0, 2: 1.0, 3: 0.0, 9: 1.0}  # prompt 9 only b answered, 4 only a
    d = paired_difference(a, b, resamples=500, seed=0)
    assert d["prompts"] == 3 and d["difference"] == 0.5  # (1 + 0 + 0.5) / 3
    assert 0 <= d["ci"][0] <= 0.5 <= d["ci"][1] <= 1
    assert paired_difference({1: 1.0}, {2: 1.0}, resamples=100, seed=0) == {
        "difference": None, "ci": None, "prompts": 0}  # fmt: skip
    # identical differences on every prompt: no spread, an interval of one point
    assert paired_difference({1: 1.0, 2: 1.0}, {1: 0.0, 2: 0.0}, resamples=100, seed=0)["ci"] == [1.0, 1.0]


def test_the_verdict_reads_the_interval_against_the_margin():
    def verdict(lo, hi, margin=0.05):
        diff = {"difference": (lo + hi) / 2, "ci": [lo, hi], "prompts": 50}
        return pressure_verdict(teacher=0.8, student=0.5, difference=diff, margin=margin)

    clear = verdict(0.2, 0.4)
    assert clear["verdict"] == "material" and clear["material"] is True
    assert "materially beats" in clear["sentence"] and "+30.0 points" in clear["sentence"]
    none = verdict(-0.05, 0.05)
    assert none["verdict"] == "not_material" and none["material"] is False
    assert none["sentence"].endswith("Distillation will not earn its build.")
    unsure = verdict(0.0, 0.3)
    assert unsure["verdict"] == "inconclusive" and unsure["material"] is False
    assert "Test more prompts" in unsure["sentence"]
    # the margin is the caller's: 25 points asked, a 20-point lower bound is not enough
    assert verdict(0.2, 0.4, margin=0.25)["verdict"] == "inconclusive"
