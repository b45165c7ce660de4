"""A broker that loses a queued stage's message (a crash, a flush) no longer strands its run: the
janitor sends the task again once the stage has waited DISTILLERY_QUEUED_RESEND_AFTER_S, and a spare
copy of a message that was not lost (the stage merely waiting for a free worker) runs nothing twice."""

from __future__ import annotations

import httpx
import pytest

from backend.core.net import free_port
from tests.fakes.fake_openai_server import start_fake_server, stop_fake_server
from tests.support.env import DATA_DIR, unique
from tests.support.prompts import seed_prompt_set, write_jsonl
from tests.support.waiting import poll_until, wait_run

PROMPTS = 10


@pytest.fixture(autouse=True)
def only_this_tests_runs():
    """Earlier tests leave runs queued (API tests create runs no worker takes): the resend check is
    global, so they are ended first, or it would send their tasks too and count their messages."""
    from sqlalchemy import update

    from backend.core.db import session_scope
    from backend.runs.models import Run, RunStage, StageChunk, Status

    live = [Status.pending, Status.queued, Status.running, Status.cancelling]
    with session_scope() as s:
        for table in (StageChunk, RunStage, Run):
            s.execute(update(table).where(table.status.in_(live)).values(status=Status.cancelled))


@pytest.fixture
def fake_teacher():
    port = free_port()
    proc = start_fake_server(port, "--latency-s", "0.01", log_path=DATA_DIR / "fake-resend.log")
    yield f"http://127.0.0.1:{port}"
    stop_fake_server(proc)


def _queue_run(client, accounts, tmp_path, base: str):
    owner = accounts.user()
    pid = accounts.project(owner)
    h = owner["headers"]
    rows = [{"prompt": f"resend {i}"} for i in range(PROMPTS)]
    pset = seed_prompt_set(pid, write_jsonl(tmp_path / f"{unique('r')}.jsonl", rows))
    body = {"name": "f", "backend": "openai_compat", "model": "m", "base_url": f"{base}/v1"}
    tid = client.post(f"/api/projects/{pid}/teachers", headers=h, json=body).json()["id"]
    recipe = {
        "prompt_set_id": pset,
        "teacher_id": tid,
        "stages": ["rollout"],
        "rollout": {"n": 1, "chunk_size": 5, "concurrency": 2, "use_cache": False},
    }
    r = client.post(f"/api/projects/{pid}/runs", headers=h, json={"name": unique("r"), "recipe": recipe})
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "queued"
    return h, pid, r.json()["id"]


def _ran_once(client, h, pid, run: dict, base: str) -> None:
    from tests.support.rollouts import all_generations

    assert run["status"] == "succeeded", run
    stage = run["stages"][0]
    assert stage["status"] == "succeeded" and stage["workers_lost"] == 0
    gens = all_generations(client, h, pid, run["id"])
    assert len(gens) == PROMPTS and len({g["prompt_id"] for g in gens}) == PROMPTS
    assert httpx.get(f"{base}/stats").json()["requests"] == PROMPTS  # every prompt asked once, not twice


def _queued_messages() -> int:
    import redis

    from tests.support.env import REDIS_URL

    return redis.Redis.from_url(REDIS_URL).llen("cpu")


def test_a_queued_stage_whose_message_the_broker_lost_is_sent_again_and_runs_once(
    client, accounts, tmp_path, stopped_worker, fake_teacher
):
    from backend.core.queue import get_celery

    h, pid, run_id = _queue_run(client, accounts, tmp_path, fake_teacher)
    assert get_celery().control.purge() >= 1  # the broker lost the queue with the run's task in it
    assert _queued_messages() == 0
    # Its janitor finds the stage queued for over a second with nobody on it and sends its task again.
    stopped_worker.start(DISTILLERY_STALE_AFTER_S="2", DISTILLERY_QUEUED_RESEND_AFTER_S="1")
    run = wait_run(client, h, pid, run_id, timeout=90)
    _ran_once(client, h, pid, run, fake_teacher)
    log = (DATA_DIR / "worker.log").read_text()
    assert f"of run {run_id} waited 1 s with no worker taking it: sending its task again" in log


def test_queued_chunks_whose_messages_the_broker_lost_are_sent_again_and_run_once(
    client, accounts, tmp_path, stopped_worker, fake_teacher
):
    from sqlalchemy import select

    from backend.core.db import session_scope
    from backend.core.queue import get_celery
    from backend.runs.models import StageChunk
    from workers.runner import run_stage
    from workers.stages.rollout import plan_and_dispatch

    h, pid, run_id = _queue_run(client, accounts, tmp_path, fake_teacher)
    stage_id = client.get(f"/api/projects/{pid}/runs/{run_id}", headers=h).json()["stages"][0]["id"]
    run_stage(stage_id, "dispatched-in-the-test", plan_and_dispatch)  # the stage task, here: chunks sent
    with session_scope() as s:
        chunks = s.scalars(select(StageChunk.status).where(StageChunk.stage_id == stage_id)).all()
    assert [c.value for c in chunks] == ["queued", "queued"]
    assert get_celery().control.purge() == 3  # the stage's message and both chunks' are lost
    # The stage runs with every chunk queued and none running: merely waiting for a worker to the
    # janitor's stall check, which leaves it alone; the re-send check sends the chunks again.
    stopped_worker.start(DISTILLERY_STALE_AFTER_S="2", DISTILLERY_QUEUED_RESEND_AFTER_S="1")
    run = wait_run(client, h, pid, run_id, timeout=90)
    _ran_once(client, h, pid, run, fake_teacher)
    log = (DATA_DIR / "worker.log").read_text()
    assert f"of run {run_id} waited 1 s with no worker taking it: sending 2 chunk tasks again" in log


def test_a_spare_copy_of_a_message_that_was_not_lost_runs_nothing_twice(
    client, accounts, tmp_path, stopped_worker, fake_teacher, monkeypatch
):
    import time

    from backend.core.config import get_settings
    from backend.core.db import session_scope
    from backend.runs.lifecycle import resend_queued
    from backend.runs.models import RunStage

    h, pid, run_id = _queue_run(client, accounts, tmp_path, fake_teacher)
    monkeypatch.setattr(get_settings(), "queued_resend_after_s", 0.2)
    time.sleep(0.3)
    with session_scope() as s:
        (stage_id,) = resend_queued(s)  # the stage was only waiting for a free worker
        assert s.get(RunStage, stage_id).run_id == run_id
    with session_scope() as s:
        assert resend_queued(s) == []  # stamped: not again before the bound
    assert _queued_messages() == 2  # the first message and its spare copy
    stopped_worker.start()
    run = wait_run(client, h, pid, run_id, timeout=90)
    _ran_once(client, h, pid, run, fake_teacher)
    # the spare copy is delivered too, and dropped at the claim
    poll_until(lambda: _queued_messages() == 0, "the spare copy delivered", timeout=30)
    time.sleep(1)
    log = (DATA_DIR / "worker.log").read_text()
    assert f"stage {stage_id} runs as task" in log or f"stage {stage_id} already succeeded" in log
    assert (
        client.get(f"/api/projects/{pid}/runs/{run_id}", headers=h).json()["stages"][0]["workers_lost"] == 0
    )
