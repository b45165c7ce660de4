"""`distillery runs create RECIPE.yaml --wait` drives rollout -> filter -> snapshot through the worker,
and a bad recipe file is refused with the field path before anything is stored."""

from __future__ import annotations

import pytest

from tests.support.env import run_cli, unique
from tests.support.prompts import MIXED_PROMPTS, seed_prompt_set, write_jsonl


def test_runs_create_from_yaml_runs_the_pipeline(client, accounts, tmp_path, teacher_url, celery_worker):
    owner = accounts.user()
    pid = accounts.project(owner)
    pset = seed_prompt_set(pid, write_jsonl(tmp_path / "p.jsonl", MIXED_PROMPTS[:4]))
    body = {"name": "mixed", "backend": "openai_compat", "model": "fake-teacher", "base_url": teacher_url}
    tid = client.post(f"/api/projects/{pid}/teachers", headers=owner["headers"], json=body).json()["id"]
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        f"prompt_set_id: {pset}\nteacher_id: {tid}\nstages: [rollout, filter, snapshot]\n"
        "rollout:\n  n: 2\n  max_tokens: 32\n"
        "filter:\n  verifiers:\n    verifiers:\n      - name: math\n"
        "snapshot:\n  max_per_prompt: 1\n"
    )
    name = unique("cli-run")
    out = run_cli("runs", "create", str(recipe), "--project", str(pid), "--name", name, "--wait")
    assert out.returncode == 0, out.stdout + out.stderr
    runs = client.get(f"/api/projects/{pid}/runs", headers=owner["headers"]).json()["items"]
    listed = next(r for r in runs if r["name"] == name)
    run = client.get(f"/api/projects/{pid}/runs/{listed['id']}", headers=owner["headers"]).json()
    said = out.stdout + out.stderr  # the CLI's console writes to stderr
    assert "rollout -> filter -> snapshot" in said and f"run {run['id']}: succeeded" in said
    assert run["status"] == "succeeded" and run["summary"]["snapshot"]["counts"]["after_max_per_prompt"] == 4
    shown = run_cli("runs", "show", str(run["id"]))
    assert shown.returncode == 0 and "snapshot   succeeded" in shown.stdout + shown.stderr


@pytest.mark.slow  # two CLI subprocesses
def test_a_bad_recipe_file_names_the_field_and_stores_nothing(client, accounts, tmp_path):
    owner = accounts.user()
    pid = accounts.project(owner)
    recipe = tmp_path / "bad.yaml"
    recipe.write_text("prompt_set_id: 1\nstages: [rollout]\nteacher_id: 1\nrollout:\n  n: 0\n")
    out = run_cli("runs", "create", str(recipe), "--project", str(pid), "--name", "bad")
    assert out.returncode == 2
    assert "recipe.rollout.n" in out.stdout + out.stderr
    assert client.get(f"/api/projects/{pid}/runs", headers=owner["headers"]).json()["items"] == []
    (tmp_path / "bad.json").write_text("{not json")
    out = run_cli("runs", "create", str(tmp_path / "bad.json"), "--project", str(pid), "--name", "bad")
    assert out.returncode == 2 and "not JSON" in out.stdout + out.stderr
