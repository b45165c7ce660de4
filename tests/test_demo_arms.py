"""The demo's arms: the plain ones at one seed (`make demo` unchanged), the extra ones (kd) at 3 seeds or
where --arms names them; the kd arm's recipe captures the teacher's top-K at generation and trains kd."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import TypeAdapter

from backend.demo_flow import ARMS, EXTRA_ARMS, KD_TOP_K, SIZES, arms_for, recipe
from backend.training.schemas import KDSettings, TrainSettings

pytestmark = pytest.mark.pure


def test_extra_arms_run_at_three_seeds_or_when_named():
    assert arms_for(1) == list(ARMS) == ["verified", "unfiltered", "answers_only"]
    assert arms_for(3) == [*ARMS, *EXTRA_ARMS] and "kd" in EXTRA_ARMS
    assert arms_for(1, ["kd"]) == [*ARMS, "kd"]
    with pytest.raises(ValueError, match=r"unknown arm\(s\) \['nope'\]"):
        arms_for(1, ["nope"])


def test_the_kd_arm_captures_the_top_k_and_trains_kd():
    kd = recipe(1, 1, SIZES["small"], "kd", 0, Path("var/demo/student-base"))
    assert kd["rollout"]["logprobs"] == KD_TOP_K
    train = TypeAdapter(TrainSettings).validate_python(kd["train"])
    assert type(train) is KDSettings and train.alpha == 0.5
    plain = recipe(1, 1, SIZES["small"], "verified", 0, Path("var/demo/student-base"))
    assert "logprobs" not in plain["rollout"] and plain["train"]["method"] == "sft"
    assert kd["snapshot"] == plain["snapshot"]  # the verified traces, with the teacher's top-K beside them
