"""`distillery up` and `make demo` start one worker per queue (backend/demo.start_workers), as compose
does: a training holding the gpu worker never delays the cpu queue's work. Before, one worker took both
queues, and two trainings kept a judge and a speed probe waiting for their whole length."""

from __future__ import annotations

import pytest

from backend.core.queue import QUEUES
from backend.demo import WORKER_POOLS, start_workers, worker_argv
from tests.support.env import DATA_DIR, ROOT, TEST_ENV
from tests.support.teachers import make_teacher
from tests.support.waiting import poll_until, wait_job, wait_run
from tests.workers.train_helpers import conversations, make_snapshot, project_with_prompts, tiny_student


@pytest.mark.pure
def test_the_demo_starts_one_worker_per_queue():
    assert set(WORKER_POOLS) == set(QUEUES) and all(n >= 1 for n in WORKER_POOLS.values())
    for queue in QUEUES:
        argv = worker_argv(queue, 2)
        assert argv[argv.index("--queues") + 1] == queue
        assert argv[argv.index("--hostname") + 1] == f"{queue}@%h"


def _queues_by_node() -> dict[str, set[str]]:
    from workers.celery_app import celery_app

    found = celery_app.control.inspect(timeout=1).active_queues() or {}
    return {node.split("@")[0]: {q["name"] for q in queues} for node, queues in found.items()}


def test_a_probe_completes_while_a_training_holds_the_gpu_worker(
    stopped_worker, client, accounts, tmp_path, teacher_url
):
    student = tiny_student()  # built before the workers start (minutes on a loaded machine)
    pid, h, pset = project_with_prompts(client, accounts, tmp_path)
    snap = make_snapshot(pid, conversations(8, seed=9), pairs=False)
    # one process each: the training alone fills its worker, as two trainings filled the old one
    workers = start_workers({"cpu": 1, "gpu": 1}, env=TEST_ENV, cwd=ROOT, log_dir=DATA_DIR, loglevel="INFO")
    try:

        def both() -> dict[str, set[str]] | None:
            found = _queues_by_node()
            return found if len(found) == 2 else None

        nodes = poll_until(both, "both workers answering", timeout=90, seen=_queues_by_node)
        assert nodes == {"cpu": {"cpu"}, "gpu": {"gpu"}}

        train = {"student": student, "snapshot_id": snap, "max_steps": 100_000, "save_steps": 100_000}
        body = {"prompt_set_id": pset, "stages": ["train"], "train": train}
        r = client.post(f"/api/projects/{pid}/runs", headers=h, json={"name": "long", "recipe": body})
        assert r.status_code == 202, r.text
        url = f"/api/projects/{pid}/runs/{r.json()['id']}"

        def training() -> dict | None:
            stage = client.get(url, headers=h).json()["stages"][0]
            assert stage["status"] in ("queued", "running"), stage
            return stage if (stage["metrics"] or {}).get("step", 0) >= 1 else None

        poll_until(training, "the training's first step", timeout=240)

        tid = make_teacher(
            client, h, pid, backend="openai_compat", model="fake-teacher", base_url=teacher_url
        )
        probe = client.post(f"/api/projects/{pid}/teachers/{tid}/probe", headers=h)
        assert probe.status_code == 202, probe.text
        job = wait_job(client, h, pid, probe.json()["id"])
        assert job["status"] == "succeeded", job["error"]

        live = client.get(url, headers=h).json()
        assert live["status"] == "running" and live["stages"][0]["status"] == "running"
        assert live["stages"][0]["progress_done"] < 100_000  # the probe did not wait for the training's end
        assert client.post(f"{url}/cancel", headers=h).status_code == 202
        done = wait_run(client, h, pid, r.json()["id"], timeout=120)
        assert done["status"] == "cancelled"
    finally:
        from backend.core.processes import stop

        for queue, proc in workers.items():
            stop(proc, grace_s=20, name=f"the {queue} worker", term="leader")
