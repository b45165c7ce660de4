"""Serving a trained student with vLLM's CPU build, through the API and real workers (backend/serving/,
workers/jobs/serve.py): a stand-in student (Qwen2.5's real vocabulary and template, tiny weights) is
trained with LoRA through the train stage, then served as its adapter on the base, beside a second
adapter of the same base (a copy of the trained one, registered as another model), on a worker of its
own. The endpoint answers chat completions for each adapter, is used as the teacher of a rollout run by
the other worker, and is stopped: its server is gone and so are its teacher rows.
Served again, its worker is killed outright: the other worker's janitor marks it stopped, removes its
teacher and stops the vLLM server the dead worker left behind. vLLM starts twice (minutes on two cores)."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

from tests.standins import build
from tests.support.conversations import convos
from tests.support.env import unique
from tests.support.factories import make_artifact
from tests.support.prompts import seed_prompt_set, write_jsonl
from tests.support.vllm import VLLM_PYTHON, vllm_processes
from tests.support.waiting import poll_until, wait_run
from tests.support.worker import WorkerProcess
from tests.workers.train_helpers import make_snapshot

pytestmark = pytest.mark.slow
PROMPTS = [{"prompt": f"What is two plus two? ({i})", "reference": "4"} for i in range(3)]
VLLM = {"dtype": "float32", "max_model_len": 512, "enforce_eager": True, "gpu_memory_utilization": 0.05}
# for the janitor that finds the killed worker: it checks every 5 s, a lost worker shows in 20 (only then:
# on a loaded host a training's beats may be late by more than that)
STALE = {"DISTILLERY_STALE_AFTER_S": "20"}


def _served(client, h, pid, sid) -> dict:
    r = client.get(f"/api/projects/{pid}/served/{sid}", headers=h)
    assert r.status_code == 200, r.text
    return r.json()


def _wait_status(client, h, pid, sid, want: str, timeout: float) -> dict:
    def check():
        s = _served(client, h, pid, sid)
        assert s["status"] not in ({"failed", "stopped"} - {want}), s
        return s if s["status"] == want else None

    return poll_until(check, f"served model {sid} {want}", timeout=timeout, interval=1)


def _chat(base_url: str, model: str) -> dict:
    body = {"model": model, "messages": [{"role": "user", "content": "What is two plus two?"}],
            "max_tokens": 8, "temperature": 1.0, "seed": 1}  # fmt: skip
    r = httpx.post(f"{base_url}/chat/completions", json=body, timeout=120, trust_env=False)
    assert r.status_code == 200, r.text
    return r.json()


def _train_lora(client, h, pid: int, pset: int) -> dict:
    snap = make_snapshot(pid, convos(4), pairs=False)
    train = {"student": str(build("qwen2.5")), "snapshot_id": snap, "max_steps": 2,
             "per_device_batch_size": 2, "learning_rate": 1e-3, "lora": {"r": 8, "alpha": 16}}  # fmt: skip
    recipe = {"prompt_set_id": pset, "stages": ["train"], "train": train}
    r = client.post(f"/api/projects/{pid}/runs", headers=h, json={"name": unique("lora"), "recipe": recipe})
    assert r.status_code == 202, r.text
    run = wait_run(client, h, pid, r.json()["id"], timeout=900)
    assert run["status"] == "succeeded", [(s["kind"], s["error"]) for s in run["stages"]]
    return client.get(
        f"/api/projects/{pid}/models/{run['summary']['train']['artifact_id']}", headers=h
    ).json()


@pytest.mark.skipif(not VLLM_PYTHON.exists(), reason="vLLM's CPU build is missing: run scripts/setup-vllm.sh")
def test_a_trained_student_is_served_used_as_a_teacher_and_stopped(
    client, accounts, tmp_path, stopped_worker
):
    from backend.core.db import session_scope

    main = stopped_worker.start()
    owner = accounts.user()
    pid, h = accounts.project(owner), owner["headers"]
    pset = seed_prompt_set(pid, write_jsonl(tmp_path / f"{unique('p')}.jsonl", PROMPTS))
    model = _train_lora(client, h, pid, pset)
    folder = Path(model["path"])
    assert (folder / "adapter_config.json").is_file()  # an adapter, served on its base
    twin = tmp_path / "twin-adapter"
    shutil.copytree(folder, twin)
    with session_scope() as s:
        sibling = make_artifact(s, project_id=pid, path=str(twin), base_model=model["base_model"]).id

    # the serve job goes to a worker of its own: the main one is stopped while the serve is taken
    main.stop()
    server_worker = WorkerProcess(name=unique("serve")).start()
    try:
        body = {"name": "student", "adapters": [sibling], "settings": VLLM}
        r = client.post(f"/api/projects/{pid}/models/{model['id']}/serve", headers=h, json=body)
        assert r.status_code == 202, r.text
        sid = r.json()["id"]
        served = _wait_status(client, h, pid, sid, "running", timeout=900)
        main.start()
        url = served["base_url"]
        assert url.startswith("http://127.0.0.1:") and served["pid"] in vllm_processes(model["base_model"])
        names = {m["id"] for m in httpx.get(f"{url}/models", trust_env=False).json()["data"]}
        assert names == {"student", f"student-{sibling}", "student-base"}
        for name in ("student", f"student-{sibling}"):
            answer = _chat(url, name)
            assert answer["model"] == name and answer["usage"]["completion_tokens"] > 0

        teachers = {t["id"]: t for t in client.get(f"/api/projects/{pid}/teachers", headers=h).json()}
        tid = served["teacher_id"]
        assert teachers[tid]["name"] == "student" and teachers[tid]["base_url"] == url
        assert {a["teacher_id"] for a in served["adapters"]} <= set(teachers)

        # the served student as the teacher of a rollout
        recipe = {"prompt_set_id": pset, "teacher_id": tid, "stages": ["rollout"],
                  "rollout": {"n": 1, "max_tokens": 8, "temperature": 1.0, "seed": 1}}  # fmt: skip
        r = client.post(
            f"/api/projects/{pid}/runs", headers=h, json={"name": unique("use"), "recipe": recipe}
        )
        assert r.status_code == 202, r.text
        run = wait_run(client, h, pid, r.json()["id"], timeout=600)
        assert run["status"] == "succeeded", [(s["kind"], s["error"]) for s in run["stages"]]
        gens = client.get(f"/api/projects/{pid}/runs/{run['id']}/generations", headers=h).json()["items"]
        assert len(gens) == len(PROMPTS) and all(g["completion_tokens"] for g in gens), gens

        r = client.delete(f"/api/projects/{pid}/served/{sid}", headers=h)
        assert r.status_code == 202 and r.json()["status"] in ("stopping", "stopped"), r.text
        ended = _wait_status(client, h, pid, sid, "stopped", timeout=120)
        assert ended["error"] is None and ended["base_url"] is None and ended["teacher_id"] is None
        poll_until(lambda: not vllm_processes(model["base_model"]), "the served vLLM gone", timeout=60)
        assert client.get(f"/api/projects/{pid}/teachers/{tid}", headers=h).status_code == 404

        # served again, its worker dies: no row says running, no server is left behind
        main.stop()
        r = client.post(f"/api/projects/{pid}/models/{sibling}/serve", headers=h, json={"settings": VLLM})
        assert r.status_code == 202, r.text
        again = _wait_status(client, h, pid, r.json()["id"], "running", timeout=900)
        assert again["pid"] in vllm_processes(twin)
        server_worker.kill()
        main.start(**STALE)
        lost = _wait_status(client, h, pid, again["id"], "stopped", timeout=120)
        assert lost["error"]["code"] == "worker_lost" and lost["teacher_id"] is None
        poll_until(
            lambda: not vllm_processes(twin), "the dead worker's vLLM stopped by the janitor", timeout=120
        )
        assert client.get(f"/api/projects/{pid}/teachers/{again['teacher_id']}", headers=h).status_code == 404
    finally:
        server_worker.stop()
