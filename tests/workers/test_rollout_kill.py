"""SIGKILL the worker in the middle of a rollout, start another, re-queue: no committed generation is
lost and none is duplicated."""

from __future__ import annotations

import time

from backend.core.net import free_port
from tests.fakes.fake_openai_server import start_fake_server, stop_fake_server
from tests.support.env import DATA_DIR, unique
from tests.support.prompts import seed_prompt_set, write_jsonl
from tests.support.rollouts import all_generations
from tests.support.waiting import poll_until, wait_run


def test_sigkill_mid_rollout_then_requeue(client, accounts, celery_worker, tmp_path, monkeypatch):
    port = free_port()
    fake = start_fake_server(port, "--latency-s", "0.05", log_path=DATA_DIR / "fake-kill.log")
    try:
        owner = accounts.user()
        pid = accounts.project(owner)
        h = owner["headers"]
        pset = seed_prompt_set(
            pid, write_jsonl(tmp_path / "k.jsonl", [{"prompt": f"kill {i}"} for i in range(150)])
        )
        tid = client.post(
            f"/api/projects/{pid}/teachers",
            headers=h,
            json={
                "name": "f",
                "backend": "openai_compat",
                "model": "m",
                "base_url": f"http://127.0.0.1:{port}/v1",
            },
        ).json()["id"]
        recipe = {
            "prompt_set_id": pset,
            "teacher_id": tid,
            "stages": ["rollout"],
            "rollout": {"n": 2, "chunk_size": 50, "concurrency": 2, "use_cache": False},
        }
        run = client.post(
            f"/api/projects/{pid}/runs", headers=h, json={"name": unique("k"), "recipe": recipe}
        ).json()
        url = f"/api/projects/{pid}/runs/{run['id']}"
        poll_until(
            lambda: len(all_generations(client, h, pid, run["id"])) >= 30, "30 generations", timeout=60
        )
        celery_worker.kill()
        committed = {
            (g["id"], g["prompt_id"], g["attempt"]) for g in all_generations(client, h, pid, run["id"])
        }
        assert 30 <= len(committed) < 300
        assert client.get(url, headers=h).json()["status"] == "running"  # nobody is left to say otherwise
        # A live-looking run refuses a re-queue until its heartbeat is stale (DISTILLERY_STALE_AFTER_S).
        r = client.post(f"{url}/requeue", headers=h)
        assert r.status_code == 409 and r.json()["error"]["code"] == "run_active"
        from backend.core.config import get_settings

        monkeypatch.setattr(get_settings(), "stale_after_s", 0.5)
        time.sleep(1.0)
        r = client.post(f"{url}/requeue", headers=h)
        assert r.status_code == 202, r.text
        # The new worker also gets the killed one's unacknowledged task back from Redis (acks_late):
        # both deliveries meet the same rows, and ON CONFLICT keeps each pair once.
        celery_worker.start()
        done = wait_run(client, h, pid, run["id"])
        assert done["status"] == "succeeded", done
        gens = all_generations(client, h, pid, run["id"])
        assert len(gens) == 300
        assert len({(g["prompt_id"], g["attempt"]) for g in gens}) == 300
        assert committed <= {(g["id"], g["prompt_id"], g["attempt"]) for g in gens}
        assert done["stages"][0]["progress_done"] == 300
    finally:
        stop_fake_server(fake)
