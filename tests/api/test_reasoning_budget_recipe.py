"""The thinking-length settings in a recipe: a bad one is a 422 naming the field, and nothing is created."""

from __future__ import annotations

import pytest

from tests.support.env import unique
from tests.support.prompts import seed_prompt_set, write_jsonl
from tests.support.teachers import make_teacher


@pytest.fixture
def project(client, accounts, tmp_path):
    owner = accounts.user()
    pid = accounts.project(owner)
    pset = seed_prompt_set(pid, write_jsonl(tmp_path / "p.jsonl", [{"prompt": "a", "reference": "1"}]))
    tid = make_teacher(client, owner["headers"], pid, backend="openai_compat", model="m",
                       base_url="https://api.example.com/v1")  # fmt: skip
    return {"h": owner["headers"], "pid": pid, "pset": pset, "tid": tid}


def _post(client, p, **keys):
    recipe = {"prompt_set_id": p["pset"], "teacher_id": p["tid"], "stages": ["rollout", "filter", "snapshot"],
              "filter": {"verifiers": {"verifiers": [{"name": "math"}]}}, **keys}  # fmt: skip
    return client.post(
        f"/api/projects/{p['pid']}/runs", headers=p["h"], json={"name": unique("r"), "recipe": recipe}
    )


@pytest.mark.parametrize(
    ("keys", "path", "word"),
    [
        ({"snapshot": {"pick": "shortest_verified"}}, "body.recipe.snapshot", "budget"),
        ({"snapshot": {"budget": 100}}, "body.recipe.snapshot", "shortest_verified"),
        (
            {"snapshot": {"pick": "shortest_verified", "budget": 9, "include": "all"}},
            "body.recipe.snapshot",
            "include",
        ),
        ({"rollout": {"reasoning_budget": 0}}, "body.recipe.rollout.reasoning_budget", ""),
        ({"evaluate": {"length_cutoffs": [0]}}, "body.recipe.evaluate.length_cutoffs.0", ""),
    ],
)
def test_bad_thinking_length_settings_are_a_422_naming_the_field(client, project, keys, path, word):
    if "evaluate" in keys:
        keys = {**keys, "stages": ["evaluate"]}
    r = _post(client, project, **keys)
    assert r.status_code == 422, r.text
    fields = {f["path"]: f["message"] for f in r.json()["error"].get("fields") or []}
    assert path in fields and word in fields[path], fields
    assert client.get(f"/api/projects/{project['pid']}/runs", headers=project["h"]).json()["items"] == []


def test_good_thinking_length_settings_are_kept_in_the_recipe(client, project):
    r = _post(client, project, rollout={"reasoning_budget": 2048, "answer_tokens": 512},
              snapshot={"pick": "shortest_verified", "budget": 2048, "max_per_prompt": 2})  # fmt: skip
    assert r.status_code == 202, r.text
    recipe = r.json()["recipe"]
    assert recipe["rollout"]["reasoning_budget"] == 2048 and recipe["snapshot"]["budget"] == 2048
