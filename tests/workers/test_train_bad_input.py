"""Bad input to the train stage: refused at the API with a field path, or failed on the stage with a
clear error before any training step (no checkpoint is ever written)."""

from __future__ import annotations

import pytest

from tests.support.env import DATA_DIR
from tests.workers.train_helpers import (
    conversations,
    make_snapshot,
    post_train,
    project_with_prompts,
    tiny_student,
    train_run,
)


@pytest.fixture(scope="module")
def student() -> str:
    return tiny_student()


@pytest.mark.parametrize(
    ("train", "path"),
    [
        ({"learning_rate": 1.0}, "body.recipe.train.learning_rate"),
        ({"learning_rate": 0}, "body.recipe.train.learning_rate"),
        ({"per_device_batch_size": 0}, "body.recipe.train.per_device_batch_size"),
        ({"lora": {"r": 0}}, "body.recipe.train.lora.r"),
        ({"override_checks": ["everything"]}, "body.recipe.train.override_checks.0"),
        ({"method": "ppo"}, "body.recipe.train.method"),
        ({"method": "distill", "beta": 2}, "body.recipe.train.beta"),
        ({"method": "grpo", "packing": True}, "body.recipe.train.packing"),
        ({"method": "kd", "alpha": -0.1}, "body.recipe.train.alpha"),
        ({"method": "kd", "temperature": 0}, "body.recipe.train.temperature"),
    ],
)
def test_out_of_range_settings_are_422_with_the_field_path(client, accounts, tmp_path, train, path):
    pid, h, pset = project_with_prompts(client, accounts, tmp_path)
    r = post_train(client, h, pid, pset, {"snapshot_id": 1, **train})
    assert r.status_code == 422, r.text
    assert path in [f["path"] for f in r.json()["error"]["fields"]]


def test_a_field_of_another_method_is_422_naming_it_and_whose_it_is(client, accounts, tmp_path):
    pid, h, pset = project_with_prompts(client, accounts, tmp_path)
    r = post_train(client, h, pid, pset, {"snapshot_id": 1, "beta": 0.3})  # no method: sft
    assert r.status_code == 422, r.text
    [field] = r.json()["error"]["fields"]
    assert field == {
        "path": "body.recipe.train.beta",
        "message": "not a setting of method sft; only dpo, grpo, distill take it",
        "type": "extra_forbidden",
    }


def test_train_needs_a_snapshot_stage_or_snapshot_id(client, accounts, tmp_path):
    pid, h, pset = project_with_prompts(client, accounts, tmp_path)
    r = post_train(client, h, pid, pset, {})
    assert r.status_code == 422 and "snapshot stage earlier in stages, or train.snapshot_id" in r.text


def test_a_snapshot_of_another_project_is_404(client, accounts, tmp_path):
    pid, h, pset = project_with_prompts(client, accounts, tmp_path)
    other, _, _ = project_with_prompts(client, accounts, tmp_path)
    snap = make_snapshot(other, conversations(2, seed=11), pairs=False)
    r = post_train(client, h, pid, pset, {"snapshot_id": snap})
    assert r.status_code == 404 and r.json()["error"]["message"] == f"snapshot {snap} not found"


def _failed(run) -> dict:
    assert run["status"] == "failed", run
    stage = run["stages"][0]
    assert not list((DATA_DIR / "training").glob(f"*/run-{run['id']}/*/checkpoint-*"))  # nothing trained
    return stage


def test_a_student_that_cannot_load_fails_before_training(client, accounts, tmp_path, celery_worker):
    pid, h, pset = project_with_prompts(client, accounts, tmp_path)
    snap = make_snapshot(pid, conversations(2, seed=12), pairs=False)
    stage = _failed(train_run(client, h, pid, pset, {"snapshot_id": snap, "student": str(tmp_path / "nope")}))
    assert "cannot be loaded" in stage["error"] and "local folder with config.json" in stage["error"]


def test_lora_target_modules_the_student_lacks(client, accounts, tmp_path, student, celery_worker):
    pid, h, pset = project_with_prompts(client, accounts, tmp_path)
    snap = make_snapshot(pid, conversations(2, seed=13), pairs=False)
    lora = {"target_modules": ["q_proj", "query_key_value"]}
    stage = _failed(train_run(client, h, pid, pset, {"snapshot_id": snap, "student": student, "lora": lora}))
    assert "no module(s) ['query_key_value']" in stage["error"] and "q_proj" in stage["error"]


def test_a_snapshot_failing_a_check_reports_it_and_trains_nothing(
    client, accounts, tmp_path, student, celery_worker
):
    pid, h, pset = project_with_prompts(client, accounts, tmp_path)
    snap = make_snapshot(pid, conversations(3, seed=14) + conversations(1, seed=15, words=120), pairs=False)
    train = {"snapshot_id": snap, "student": student, "max_length": 64, "too_long": "refuse"}
    stage = _failed(train_run(client, h, pid, pset, train))
    assert (
        "pre-flight checks failed, nothing trained" in stage["error"] and "too_long: 1 of 4" in stage["error"]
    )
    report = {c["name"]: c for c in stage["metrics"]["checks"]}
    assert not report["too_long"]["passed"] and report["too_long"]["count"] == 1
    assert report["eos_trained"]["passed"] and stage["metrics"]["step"] == 0
