"""The loss curve kept on the stage stays bounded and always keeps its newest point, and the recipe
example files validate against the Recipe the API takes."""

from __future__ import annotations

import pytest
import yaml

from backend.training.schemas import SERIES_MAX, DPOSettings
from tests.support.env import ROOT
from workers.training.callbacks import thin


def test_series_is_thinned_and_keeps_the_newest_point():
    series: list[dict] = []
    for step in range(1, 5 * SERIES_MAX):
        series = thin([*series, {"step": step}])
        assert len(series) <= SERIES_MAX and series[-1]["step"] == step
    steps = [p["step"] for p in series]
    assert steps == sorted(steps) and steps[0] == 1


def test_example_recipes_validate():
    from backend.runs.schemas import Recipe
    from backend.training.cli import recipe_for

    whole = yaml.safe_load((ROOT / "examples/recipes/sft_qwen.yaml").read_text())
    assert Recipe.model_validate(whole).train.lora.merge is True
    alone = yaml.safe_load((ROOT / "examples/recipes/dpo_snapshot.yaml").read_text())
    DPOSettings.model_validate(alone)
    recipe = Recipe.model_validate({"prompt_set_id": 1, **recipe_for(alone, snapshot=3)})
    assert recipe.stages == ["train"] and recipe.train.snapshot_id == 3 and recipe.train.method == "dpo"


@pytest.mark.pure
def test_a_log_record_becomes_a_point_with_the_methods_signals():
    from workers.training.callbacks import is_step_log, point_of

    dpo = {"loss": 0.69, "learning_rate": 1e-4, "rewards/margins": 0.2, "rewards/accuracies": 0.75}
    p = point_of(3, dpo)
    assert p["step"] == 3 and p["reward_margin"] == 0.2 and p["reward_accuracy"] == 0.75
    assert p["reward"] is None and p["grad_norm"] is None
    grpo = point_of(1, {"loss": 0.0, "reward": 0.0, "reward_std": 0.0, "zero_reward_groups": 1.0})
    assert (grpo["reward"], grpo["reward_std"], grpo["zero_reward_groups"]) == (0.0, 0.0, 1.0)
    assert is_step_log(dpo) and not is_step_log({"train_loss": 0.5, "train_runtime": 3.0})


@pytest.mark.pure
def test_zero_reward_share_counts_whole_groups_and_the_warning_needs_every_reward_zero():
    from workers.training.callbacks import NO_REWARD, signal_warnings
    from workers.training.grpo import zero_reward_share

    assert zero_reward_share([0, 0, 1, 0, 0, 0], 2) == 2 / 3  # groups (0,0) (1,0) (0,0)
    assert zero_reward_share([0.0] * 4, 2) == 1.0 and zero_reward_share([1, 1], 2) == 0.0
    assert zero_reward_share([0, 0, 0], 2) is None  # not whole groups: not guessed
    zero = [{"step": 1, "reward": 0.0}, {"step": 2, "reward": 0.0}]
    assert signal_warnings(zero, rewarded=False) == [NO_REWARD]
    assert signal_warnings(zero, rewarded=True) == []  # a reward was seen (maybe thinned out since)
    assert signal_warnings([{"step": 1, "loss": 2.0}], rewarded=False) == []  # no rewards: not grpo
