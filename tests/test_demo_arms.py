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
    assert extra_arms(3, ()) == ("onpolicy",)
    assert extra_arms(1, ("onpolicy",)) == ("onpolicy",)
    with pytest.raises(ValueError, match="unknown arm.s. kd2; extra arms: onpolicy"):
        extra_arms(1, ("kd2",))


def test_the_onpolicy_arm_is_a_distill_recipe_on_the_verified_snapshot(monkeypatch):
    from backend import demo_onpolicy
    from backend.demo_flow import EXTRA_ARMS, SIZES, ExtraContext
    from backend.runs.schemas import Recipe

    # the teacher's placement asks the API (tests/e2e run the demo's API); here only the recipe is checked
    monkeypatch.setattr(demo_onpolicy, "served_teacher", lambda api, pid: (7, "vllm"))
    x = ExtraContext(None, 1, 2, SIZES["small"], 0, 99, Path("var/demo/student-base"), Console(quiet=True))  # type: ignore[arg-type]
    recipe = Recipe.model_validate(EXTRA_ARMS["onpolicy"](x))
    train = recipe.settings_of("train")
    assert recipe.teacher_id == 7 and recipe.stages == ["train", "evaluate"]
    assert train.method == "distill" and train.snapshot_id == 99 and train.teacher_top_k == 20
    assert train.beta == 0.0 and train.max_steps == SIZES["small"].onpolicy_steps
