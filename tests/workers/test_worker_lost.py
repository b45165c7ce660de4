"""A stage whose worker is SIGKILLed is re-queued by the workers' janitor, with nobody calling requeue:
it completes exactly once; one that keeps losing its worker ends failed with the cause."""

from __future__ import annotations

import time

import pytest

from backend.core.net import free_port
from tests.fakes.fake_openai_server import start_fake_server, stop_fake_server
from tests.support.env import DATA_DIR, unique
from tests.support.prompts import seed_prompt_set, write_jsonl
from tests.support.rollouts import all_generations
from tests.support.waiting import poll_until, wait_run

# The janitor checks and a live task beats every quarter of this.
FAST = {"DISTILLERY_STALE_AFTER_S": "2"}


@pytest.fixture
def fake_teacher():
    port = free_port()
    proc = start_fake_server(port, "--latency-s", "0.05", log_path=DATA_DIR / "fake-lost.log")
    yield f"http://127.0.0.1:{port}/v1"
    stop_fake_server(proc)


def _start_run(client, accounts, tmp_path, base_url: str, chunk_size: int):
    owner = accounts.user()
    pid = accounts.project(owner)
    h = owner["headers"]
    pset = seed_prompt_set(
        pid, write_jsonl(tmp_path / "l.jsonl", [{"prompt": f"lost {i}"} for i in range(150)])
    )
    tid = client.post(
        f"/api/projects/{pid}/teachers",
        headers=h,
        json={"name": "f", "backend": "openai_compat", "model": "m", "base_url": base_url},
    ).json()["id"]
    recipe = {
        "prompt_set_id": pset,
        "teacher_id": tid,
        "stages": ["rollout"],
        "rollout": {"n": 2, "chunk_size": chunk_size, "concurrency": 2, "use_cache": False},
    }
    r = client.post(f"/api/projects/{pid}/runs", headers=h, json={"name": unique("lost"), "recipe": recipe})
    assert r.status_code == 202, r.text
    return h, pid, r.json()["id"]


def _wait_generations(client, h, pid, run_id, at_least: int, timeout: float = 90) -> int:
    def enough() -> int:
        n = len(all_generations(client, h, pid, run_id))
        return n if n >= at_least else 0

    return poll_until(enough, f"{at_least} generations", timeout=timeout)


def _stage(client, h, pid, run_id) -> dict:
    return client.get(f"/api/projects/{pid}/runs/{run_id}", headers=h).json()["stages"][0]


def test_a_killed_worker_is_replaced_by_the_janitor_and_the_stage_completes_once(
    client, accounts, stopped_worker, fake_teacher, tmp_path
):
    stopped_worker.start(**FAST)
    # One chunk: once its task is dead no other task of the stage is left to take it over.
    h, pid, run_id = _start_run(client, accounts, tmp_path, fake_teacher, chunk_size=150)
    _wait_generations(client, h, pid, run_id, at_least=30)
    # Alive, beating every 0.5 s: the janitor leaves it alone however long the chunk takes.
    assert _stage(client, h, pid, run_id)["workers_lost"] == 0
    stopped_worker.kill()
    committed = {(g["id"], g["prompt_id"], g["attempt"]) for g in all_generations(client, h, pid, run_id)}
    assert 30 <= len(committed) < 300
    time.sleep(2.5)  # past the limit: the heartbeat is stale now
    before = _stage(client, h, pid, run_id)
    assert before["status"] == "running" and before["workers_lost"] == 0  # nobody checks while none runs
    stopped_worker.start(**FAST)  # its janitor finds the stale stage; no one calls requeue
    done = wait_run(client, h, pid, run_id)
    assert done["status"] == "succeeded", done
    stage = done["stages"][0]
    assert stage["workers_lost"] == 1 and stage["status"] == "succeeded"
    gens = all_generations(client, h, pid, run_id)
    assert len(gens) == 300 and len({(g["prompt_id"], g["attempt"]) for g in gens}) == 300
    assert committed <= {(g["id"], g["prompt_id"], g["attempt"]) for g in gens}
    assert stage["progress_done"] == 300
    log = (DATA_DIR / "worker.log").read_text()
    assert f"re-queued run {run_id}: stage {stage['id']} (rollout) had no heartbeat for 2 s" in log
    # elapsed_s spans both segments, not only the one that finished.
    from backend.core.db import session_scope
    from backend.runs.models import RunStage

    with session_scope() as s:
        row = s.get(RunStage, stage["id"])
        total, last_segment = row.elapsed_before_s, (row.finished_at - row.started_at).total_seconds()
    assert total - last_segment > 2  # the killed segment: generations, then the stale wait
    assert stage["metrics"]["elapsed_s"] == pytest.approx(total, abs=0.5)
    assert stage["metrics"]["elapsed_s"] > last_segment + 2


def test_a_stage_that_keeps_losing_its_worker_fails_with_the_cause(
    client, accounts, stopped_worker, fake_teacher, tmp_path
):
    env = {**FAST, "DISTILLERY_MAX_REQUEUES": "1"}
    stopped_worker.start(**env)
    h, pid, run_id = _start_run(client, accounts, tmp_path, fake_teacher, chunk_size=50)
    n = _wait_generations(client, h, pid, run_id, at_least=20)
    stopped_worker.kill()
    # Counted once (the limit): by the janitor, or by a live chunk task taking the dead one's chunk.
    stopped_worker.start(**env)
    poll_until(
        lambda: _stage(client, h, pid, run_id)["workers_lost"] >= 1, "the lost worker noticed", timeout=90
    )
    assert _stage(client, h, pid, run_id)["status"] == "running"
    n = _wait_generations(client, h, pid, run_id, at_least=n + 10)
    assert n < 300
    stopped_worker.kill()  # mid-stage again
    stopped_worker.start(**env)
    done = wait_run(client, h, pid, run_id)
    assert done["status"] == "failed"
    stage = done["stages"][0]
    assert stage["status"] == "failed" and stage["workers_lost"] == 2
    assert "worker lost 2 times" in stage["error"] and "DISTILLERY_MAX_REQUEUES=1" in stage["error"]
    assert done["error"].startswith("stage rollout: worker lost 2 times")
    assert len(all_generations(client, h, pid, run_id)) < 300


def test_every_way_of_starting_a_worker_runs_the_janitor():
    """The janitor starts on Celery's worker_ready in workers.celery_app, which `distillery worker`
    loads; the demo, `up`, docker-compose and the test worker all start workers that way."""
    import re
    from pathlib import Path

    from celery.signals import worker_ready

    from workers import celery_app

    receivers = [ref() for _, ref in worker_ready.receivers]
    assert celery_app._start_janitor in receivers
    root = Path(__file__).resolve().parents[2]
    compose = (root / "docker-compose.yml").read_text()
    commands = re.findall(r"^\s+command: (.*worker.*)$", compose, flags=re.M)
    assert len(commands) == 2 and all(c.startswith("distillery worker ") for c in commands)
    assert '"-m", "backend.cli", "worker"' in (root / "backend" / "demo.py").read_text()  # demo and up
    assert '"-m", "backend.cli", "worker"' in (root / "tests" / "support" / "worker.py").read_text()
    cli = (root / "backend" / "cli.py").read_text()
    assert '"workers.celery_app:celery_app"' in cli
