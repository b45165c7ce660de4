"""SIGKILL the worker in the middle of training, re-queue the run, start another worker: training
resumes from the last checkpoint, the global step goes on and the optimizer's state is restored."""

from __future__ import annotations

import time
from pathlib import Path

from tests.support.env import DATA_DIR
from tests.support.waiting import wait_run
from tests.workers.train_helpers import (
    conversations,
    make_snapshot,
    project_with_prompts,
    tiny_student,
    train_run,
)


def test_sigkill_mid_training_then_requeue_resumes(client, accounts, celery_worker, tmp_path, monkeypatch):
    student = tiny_student()
    pid, h, pset = project_with_prompts(client, accounts, tmp_path)
    snap = make_snapshot(pid, conversations(16, seed=5))
    steps = 24
    train = {
        "student": student,
        "snapshot_id": snap,
        "max_steps": steps,
        "per_device_batch_size": 2,
        "learning_rate": 1e-3,
        "save_steps": 4,
        "save_total_limit": 3,
    }
    run = train_run(client, h, pid, pset, train, timeout=0)
    url = f"/api/projects/{pid}/runs/{run['id']}"
    stage_id = run["stages"][0]["id"]
    folder = DATA_DIR / "training" / str(pid) / f"run-{run['id']}" / f"stage-{stage_id}"
    deadline = time.monotonic() + 240
    while not (folder / "checkpoint-8" / "trainer_state.json").is_file():
        assert time.monotonic() < deadline, "training never reached its second checkpoint"
        assert client.get(url, headers=h).json()["status"] in ("queued", "running")
        time.sleep(0.05)
    celery_worker.kill()
    live = client.get(url, headers=h).json()
    assert live["status"] == "running" and live["stages"][0]["metrics"]["step"] >= 8
    assert not (folder / "final").exists()

    from backend.core.config import get_settings

    monkeypatch.setattr(get_settings(), "stale_after_s", 0.5)
    time.sleep(1.0)
    assert client.post(f"{url}/requeue", headers=h).status_code == 202
    celery_worker.start()
    done = wait_run(client, h, pid, run["id"], timeout=300)
    assert done["status"] == "succeeded", done
    s = done["summary"]["train"]
    assert s["resumed_from_step"] >= 8 and s["resumed_from_step"] % 4 == 0
    assert s["step"] == steps and s["optimizer_steps"] == steps  # a fresh optimizer would count fewer
    assert [p["step"] for p in s["series"]] == list(range(1, steps + 1))
    assert (Path(s["path"]) / "model.safetensors").is_file()


def test_cancel_stops_at_the_next_step_and_keeps_the_checkpoints(client, accounts, celery_worker, tmp_path):
    student = tiny_student()
    pid, h, pset = project_with_prompts(client, accounts, tmp_path)
    snap = make_snapshot(pid, conversations(8, seed=6), pairs=False)
    train = {
        "student": student,
        "snapshot_id": snap,
        "max_steps": 500,
        "per_device_batch_size": 2,
        "save_steps": 3,
    }
    run = train_run(client, h, pid, pset, train, timeout=0)
    url = f"/api/projects/{pid}/runs/{run['id']}"
    folder = DATA_DIR / "training" / str(pid) / f"run-{run['id']}" / f"stage-{run['stages'][0]['id']}"
    deadline = time.monotonic() + 240
    while not (folder / "checkpoint-3" / "trainer_state.json").is_file():
        assert time.monotonic() < deadline, "training never reached its first checkpoint"
        time.sleep(0.05)
    assert client.post(f"{url}/cancel", headers=h).status_code == 202
    done = wait_run(client, h, pid, run["id"], timeout=120)
    assert done["status"] == "cancelled" and done["stages"][0]["status"] == "cancelled"
    assert (folder / "checkpoint-3" / "optimizer.pt").is_file() and not (folder / "final").exists()
    assert done["stages"][0]["progress_done"] < 500
