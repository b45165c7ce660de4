"""The dashboard's launch wizard writes recipes as YAML (frontend/src/pages/wizard/recipe.ts); its vitest
tests keep these fixtures equal to what it writes. Here the CLI's reader and the API take them as they are."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from backend.runs.cli import read_recipe
from backend.runs.schemas import Recipe, RunCreate
from tests.support.prompts import write_jsonl

FIXTURES = Path(__file__).resolve().parents[2] / "frontend" / "src" / "pages" / "wizard" / "fixtures"
NAMES = ["demo-recipe.yaml", "full-recipe.yaml", "teacher-logprobs-recipe.yaml"]
# stages without a rollout: a train of an existing snapshot, an evaluation of existing models
ALONE = ["train-only-recipe.yaml", "evaluate-only-recipe.yaml"]


@pytest.mark.parametrize("name", NAMES + ALONE)
def test_the_cli_reads_the_wizards_yaml_as_a_valid_recipe(name):
    recipe = read_recipe(FIXTURES / name)
    run = RunCreate.model_validate({"name": "from-the-wizard", "recipe": recipe})
    assert run.recipe.stages == recipe["stages"]
    # Every setting the wizard wrote arrives as written (none dropped or renamed on the way).
    assert _within(recipe, run.recipe.model_dump(mode="json"))


def _within(want, got) -> bool:
    """want is got with some defaults left out: mappings recursively, lists item by item."""
    if isinstance(want, dict):
        return isinstance(got, dict) and all(k in got and _within(v, got[k]) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(got, list) and len(want) == len(got) and all(map(_within, want, got))
    return want == got


def test_the_demo_recipe_is_make_demos(tmp_path):
    from backend.demo_flow import SIZES
    from backend.demo_flow import recipe as demo_recipe

    wizard = read_recipe(FIXTURES / "demo-recipe.yaml")
    demo = demo_recipe(1, 1, SIZES["small"], "verified", 0, Path("var/demo/student-base"))
    assert Recipe.model_validate(wizard).model_dump() == Recipe.model_validate(demo).model_dump()


def test_the_api_estimates_the_wizards_recipe_on_real_ids(client, accounts, importer, tmp_path):
    user = accounts.user()
    pid = accounts.project(user)
    h = user["headers"]
    rows = [{"prompt": f"What is {i} + {i}?", "answer": str(2 * i)} for i in range(12)]
    pset = importer(h, pid, write_jsonl(tmp_path / "p.jsonl", rows))["result"]["prompt_set"]
    teacher = {
        "name": "remote",
        "backend": "openai_compat",
        "model": "m",
        "base_url": "http://127.0.0.1:9/v1",
    }
    tid = client.post(f"/api/projects/{pid}/teachers", headers=h, json=teacher).json()["id"]
    for name in NAMES:
        recipe = yaml.safe_load((FIXTURES / name).read_text())
        recipe.update(prompt_set_id=pset["id"], teacher_id=tid)
        r = client.post(f"/api/projects/{pid}/runs/estimate", headers=h, json=recipe)
        assert r.status_code == 200, r.text
        assert r.json()["prompts"] == 12 and r.json()["attempts"] == 12 * recipe["rollout"]["n"]


def test_a_bad_wizard_value_comes_back_at_its_field(client, accounts):
    user = accounts.user()
    pid = accounts.project(user)
    recipe = read_recipe(FIXTURES / "demo-recipe.yaml")
    recipe["rollout"]["n"] = 0
    r = client.post(
        f"/api/projects/{pid}/runs", headers=user["headers"], json={"name": "x", "recipe": recipe}
    )
    assert r.status_code == 422
    paths = [f["path"] for f in r.json()["error"]["fields"]]
    assert "body.recipe.rollout.n" in paths
