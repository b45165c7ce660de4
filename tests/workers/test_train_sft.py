"""SFT of a tiny student through the API and a real Celery worker: full and LoRA, the loss on the
assistant turns, live metrics, the saved model with its card, and the model artifact routes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.workers.train_helpers import (
    conversations,
    make_snapshot,
    project_with_prompts,
    tiny_student,
    train_run,
)


@pytest.fixture(scope="module")
def student() -> str:
    return tiny_student()


def test_sft_full_trains_saves_and_registers_the_model(client, accounts, tmp_path, student, celery_worker):
    pid, h, pset = project_with_prompts(client, accounts, tmp_path)
    snap = make_snapshot(pid, conversations(12))
    train = {
        "student": student,
        "snapshot_id": snap,
        "max_steps": 4,
        "per_device_batch_size": 4,
        "learning_rate": 1e-3,
        "save_steps": 2,
    }
    run = train_run(client, h, pid, pset, train)
    assert run["status"] == "succeeded", run
    s = run["summary"]["train"]
    assert s["method"] == "sft" and s["step"] == 4 and s["max_steps"] == 4 and s["snapshot_id"] == snap
    assert s["examples"] == 12 and s["excluded_too_long"] == 0
    # max_length came from the snapshot on the student's tokenizer, not TRL's 1024
    assert 16 <= s["max_length"] < 1024 and s["max_length"] % 8 == 0
    assert [c["name"] for c in s["checks"] if c["passed"]] == [
        "pad_token",
        "assistant_mask",
        "eos_trained",
        "reasoning_kept",
        "truncated_traces",
        "admission",
        "too_long",
    ]
    assert s["loss"] > 0 and s["tokens_per_s"] > 0 and s["epoch"] > 0
    assert [p["step"] for p in s["series"]] == [1, 2, 3, 4]
    assert all(p["learning_rate"] is not None and p["grad_norm"] is not None for p in s["series"])

    final = Path(s["path"])
    assert (final / "config.json").is_file() and (final / "model.safetensors").is_file()
    assert (final / "tokenizer.json").is_file()
    card = (final / "README.md").read_text()
    assert card.startswith("---\nbase_model: ") and f"snapshot: {snap}" in card and "max_steps: 4" in card
    # checkpoints every save_steps, under DATA_DIR
    assert sorted(p.name for p in final.parent.glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-4"]

    from transformers import AutoModelForCausalLM, AutoTokenizer

    AutoModelForCausalLM.from_pretrained(final)
    tok = AutoTokenizer.from_pretrained(final)
    from tiny_model import CHAT_TEMPLATE  # on sys.path through tiny_student()

    assert tok.chat_template == CHAT_TEMPLATE  # the family's own, as it was before training

    models = client.get(f"/api/projects/{pid}/models", headers=h, params={"run_id": run["id"]}).json()[
        "items"
    ]
    assert [m["id"] for m in models] == [s["artifact_id"]]
    m = client.get(f"/api/projects/{pid}/models/{s['artifact_id']}", headers=h).json()
    assert m["method"] == "sft" and m["base_model"] == student and m["snapshot_id"] == snap
    assert m["metrics"]["step"] == 4 and m["metrics"]["lineage"]["snapshot"]["id"] == snap
    assert m["metrics"]["lineage"]["checkpoint"].endswith("checkpoint-4")
    other = accounts.user()
    assert client.get(f"/api/projects/{pid}/models/{m['id']}", headers=other["headers"]).status_code in (
        403,
        404,
    )


def test_sft_lora_merged_saves_plain_weights(client, accounts, tmp_path, student, celery_worker):
    pid, h, pset = project_with_prompts(client, accounts, tmp_path)
    snap = make_snapshot(pid, conversations(8, seed=1))
    lora = {"r": 4, "alpha": 8, "target_modules": ["q_proj", "v_proj"], "merge": True}
    train = {
        "student": student,
        "snapshot_id": snap,
        "max_steps": 2,
        "per_device_batch_size": 4,
        "learning_rate": 1e-3,
        "lora": lora,
    }
    run = train_run(client, h, pid, pset, train)
    assert run["status"] == "succeeded", run
    final = Path(run["summary"]["train"]["path"])
    assert (final / "model.safetensors").is_file() and not (final / "adapter_config.json").exists()
    assert json.loads((final / "config.json").read_text())["model_type"] == "llama"

    train["lora"] = {**lora, "merge": False}
    run = train_run(client, h, pid, pset, train)
    assert run["status"] == "succeeded", run
    assert (Path(run["summary"]["train"]["path"]) / "adapter_config.json").is_file()


def test_dpo_on_the_snapshots_pairs(client, accounts, tmp_path, student, celery_worker):
    pid, h, pset = project_with_prompts(client, accounts, tmp_path)
    snap = make_snapshot(pid, conversations(6, seed=2))
    train = {
        "student": student,
        "snapshot_id": snap,
        "method": "dpo",
        "max_steps": 2,
        "per_device_batch_size": 2,
        "learning_rate": 1e-4,
        "beta": 0.1,
    }
    run = train_run(client, h, pid, pset, train)
    assert run["status"] == "succeeded", run
    s = run["summary"]["train"]
    assert s["method"] == "dpo" and s["step"] == 2 and s["examples"] == 6 and s["loss"] is not None
    names = {c["name"] for c in s["checks"]}
    assert "assistant_mask" not in names and {"pad_token", "too_long", "truncated_traces"} <= names
    m = client.get(f"/api/projects/{pid}/models/{s['artifact_id']}", headers=h).json()
    assert m["method"] == "dpo" and (Path(m["path"]) / "model.safetensors").is_file()


def test_grpo_rewards_with_the_projects_verifiers(client, accounts, tmp_path, student, celery_worker):
    pid, h, pset = project_with_prompts(client, accounts, tmp_path)
    snap = make_snapshot(pid, conversations(4, seed=3), pairs=False)
    train = {
        "student": student,
        "snapshot_id": snap,
        "method": "grpo",
        "max_steps": 2,
        "per_device_batch_size": 4,
        "num_generations": 2,
        "max_completion_length": 12,
        "learning_rate": 1e-4,
    }
    run = train_run(
        client,
        h,
        pid,
        pset,
        train,
        filter={"verifiers": {"verifiers": [{"name": "math", "settings": {"timeout_s": 5}}]}},
    )
    assert run["status"] == "succeeded", run
    s = run["summary"]["train"]
    assert s["method"] == "grpo" and s["step"] == 2 and s["examples"] == 4
    assert all(
        p["reward"] is not None and 0 <= p["reward"] <= 1 for p in s["series"]
    )  # the verifier scored them
    r = client.post(
        f"/api/projects/{pid}/runs",
        headers=h,
        json={
            "name": "g",
            "recipe": {"prompt_set_id": pset, "stages": ["train"], "train": {**train, "num_generations": 3}},
        },
    )
    assert r.status_code == 422 and "multiple of num_generations" in r.text


def _teacher(client, h, pid, **body) -> int:
    r = client.post(f"/api/projects/{pid}/teachers", headers=h, json={"name": body.pop("name"), **body})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_on_policy_distillation_from_a_local_teacher(client, accounts, tmp_path, student, celery_worker):
    pid, h, pset = project_with_prompts(client, accounts, tmp_path)
    snap = make_snapshot(pid, conversations(4, seed=4), pairs=False)
    local = _teacher(client, h, pid, name="local", backend="transformers_local", model=student)
    train = {
        "student": student,
        "snapshot_id": snap,
        "method": "distill",
        "max_steps": 2,
        "per_device_batch_size": 2,
        "max_completion_length": 8,
        "beta": 1.0,
        "learning_rate": 1e-4,
    }
    run = train_run(client, h, pid, pset, train, teacher_id=local)
    assert run["status"] == "succeeded", run
    s = run["summary"]["train"]
    assert s["method"] == "distill" and s["step"] == 2 and s["loss"] is not None

    # a served teacher (vllm, or an endpoint that is a vLLM server): tests/workers/test_train_served.py
    r = client.post(
        f"/api/projects/{pid}/runs",
        headers=h,
        json={"name": "d", "recipe": {"prompt_set_id": pset, "stages": ["train"], "train": train}},
    )
    assert r.status_code == 422 and "distill needs teacher_id" in r.text
