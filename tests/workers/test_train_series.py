"""The loss curve kept on the stage stays bounded and always keeps its newest point, and the recipe
example files validate against the Recipe the API takes."""

from __future__ import annotations

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
