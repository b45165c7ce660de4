"""`distillery train RECIPE.yaml --project P`: the whole pipeline (rollout -> filter -> snapshot -> train)
from a recipe file through the real worker, and an open-r1-style file of train settings alone that
trains an existing snapshot."""

from __future__ import annotations

from tests.support.env import run_cli, unique
from tests.support.prompts import MIXED_PROMPTS, seed_prompt_set, write_jsonl
from tests.workers.train_helpers import conversations, make_snapshot, tiny_student


def test_train_from_a_recipe_runs_the_whole_pipeline(client, accounts, tmp_path, teacher_url, celery_worker):
    student = tiny_student()
    owner = accounts.user()
    pid, h = accounts.project(owner), owner["headers"]
    pset = seed_prompt_set(pid, write_jsonl(tmp_path / "p.jsonl", MIXED_PROMPTS[:4]))
    body = {"name": "mixed", "backend": "openai_compat", "model": "fake-teacher", "base_url": teacher_url}
    tid = client.post(f"/api/projects/{pid}/teachers", headers=h, json=body).json()["id"]
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        f"prompt_set_id: {pset}\nteacher_id: {tid}\nstages: [rollout, filter, snapshot]\n"
        "rollout:\n  n: 2\n  max_tokens: 32\n"
        "filter:\n  verifiers:\n    verifiers:\n      - name: math\n"
        f"train:\n  student: {student}\n  max_steps: 2\n  per_device_batch_size: 2\n  learning_rate: 0.001\n"
    )
    name = unique("cli-train")
    out = run_cli("train", str(recipe), "--project", str(pid), "--name", name, "--wait")
    said = out.stdout + out.stderr
    assert out.returncode == 0, said
    assert "rollout -> filter -> snapshot -> train" in said
    listed = next(
        r for r in client.get(f"/api/projects/{pid}/runs", headers=h).json()["items"] if r["name"] == name
    )
    run = client.get(f"/api/projects/{pid}/runs/{listed['id']}", headers=h).json()
    t = run["summary"]["train"]
    assert (
        run["status"] == "succeeded"
        and t["step"] == 2
        and t["snapshot_id"] == run["summary"]["snapshot"]["snapshot_id"]
    )
    model = client.get(f"/api/projects/{pid}/models/{t['artifact_id']}", headers=h).json()
    assert model["metrics"]["lineage"]["teacher"]["id"] == tid  # teacher -> snapshot -> checkpoint
    assert (
        model["metrics"]["lineage"]["snapshot"]["content_hash"] == run["summary"]["snapshot"]["content_hash"]
    )


def test_train_settings_alone_train_an_existing_snapshot(client, accounts, tmp_path, celery_worker):
    student = tiny_student()
    owner = accounts.user()
    pid = accounts.project(owner)
    pset = seed_prompt_set(pid, write_jsonl(tmp_path / "p.jsonl", MIXED_PROMPTS[:1]))
    snap = make_snapshot(pid, conversations(4, seed=21), pairs=False)
    recipe = tmp_path / "sft.yaml"
    recipe.write_text(f"student: {student}\nmax_steps: 1\nper_device_batch_size: 2\n")
    out = run_cli("train", str(recipe), "--project", str(pid), "--snapshot", str(snap))
    assert out.returncode == 2 and "prompt_set_id" in out.stdout + out.stderr  # no source run to take it from
    recipe.write_text(f"prompt_set_id: {pset}\ntrain:\n  student: {student}\n  max_steps: 1\n")
    out = run_cli("train", str(recipe), "--project", str(pid), "--snapshot", str(snap), "--wait")
    assert out.returncode == 0, out.stdout + out.stderr
    (tmp_path / "bad.yaml").write_text(f"prompt_set_id: {pset}\ntrain:\n  student: x\n  learning_rate: 5\n")
    out = run_cli("train", str(tmp_path / "bad.yaml"), "--project", str(pid), "--snapshot", str(snap))
    assert out.returncode == 2 and "recipe.train.learning_rate" in out.stdout + out.stderr
