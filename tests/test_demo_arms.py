"""The demo's extra arms (backend/demo_flow.py's EXTRA_ARMS): `make demo` (one seed, none named) runs
none of them, three seeds or `--arms` run them, an unknown name is refused naming the known ones, and
the on-policy arm's recipe is a valid distill recipe on the verified arm's snapshot."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

pytestmark = pytest.mark.pure


def test_which_extra_arms_run():
    from backend.demo import extra_arms

    assert extra_arms(1, ()) == ()  # make demo: as it was
    assert extra_arms(3, ()) == ("kd", "onpolicy")
    assert extra_arms(1, ("kd",)) == ("kd",)
    assert extra_arms(1, ("onpolicy",)) == ("onpolicy",)
    with pytest.raises(ValueError, match="unknown arm.s. kd2; extra arms: kd, onpolicy"):
        extra_arms(1, ("kd2",))


def test_the_onpolicy_arm_is_a_distill_recipe_on_the_verified_snapshot(monkeypatch):
    from backend import demo_onpolicy
    from backend.demo_flow import EXTRA_ARMS, SIZES, ExtraContext
    from backend.runs.schemas import Recipe

    # the teacher's placement asks the API (tests/e2e run the demo's API); here only the recipe is checked
    monkeypatch.setattr(demo_onpolicy, "served_teacher", lambda api, pid, data_dir: (7, "vllm"))
    base = Path("var/demo/student-base")
    x = ExtraContext(None, 1, 2, SIZES["small"], 0, 99, base, Console(quiet=True), Path("var"))  # type: ignore[arg-type]
    recipe = Recipe.model_validate(EXTRA_ARMS["onpolicy"](x))
    train = recipe.settings_of("train")
    assert recipe.teacher_id == 7 and recipe.stages == ["train", "evaluate"]
    assert train.method == "distill" and train.snapshot_id == 99 and train.teacher_top_k == 20
    assert train.beta == 0.0 and train.max_steps == SIZES["small"].onpolicy_steps


def test_the_kd_arm_captures_the_top_k_and_trains_kd(monkeypatch):
    from backend import demo_flow
    from backend.demo_flow import EXTRA_ARMS, SIZES, ExtraContext, recipe
    from backend.demo_kd import KD_TOP_K
    from backend.runs.schemas import Recipe

    monkeypatch.setattr(demo_flow, "teacher", lambda api, pid: 7)  # the demo's teacher, asked of the API
    base = Path("var/demo/student-base")
    x = ExtraContext(None, 1, 2, SIZES["small"], 0, 99, base, Console(quiet=True), Path("var"))  # type: ignore[arg-type]
    kd = EXTRA_ARMS["kd"](x)
    r = Recipe.model_validate(kd)
    train = r.settings_of("train")
    assert r.teacher_id == 7 and kd["rollout"]["logprobs"] == KD_TOP_K
    assert train.method == "kd" and train.alpha == 0.5 and train.student == str(base)
    plain = recipe(2, 7, SIZES["small"], "verified", 0, base)
    assert "logprobs" not in plain["rollout"] and plain["train"]["method"] == "sft"
    assert kd["snapshot"] == plain["snapshot"]  # the verified traces, with the teacher's top-K beside them
