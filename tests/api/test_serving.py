"""Serving a trained model through the API (backend/serving/): the request is checked before anything is
queued, roles and projects are held apart, a stop before any worker took the job ends it at once, and
a served model whose worker died is marked stopped by the janitor's pass, its teacher rows removed.
The real server (vLLM's CPU build, a real worker) is tests/workers/test_serve_vllm.py's."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.env import run_cli
from tests.support.factories import make_artifact


def _models(pid: int, *bases: str) -> list[int]:
    from backend.core.db import session_scope

    with session_scope() as s:
        return [make_artifact(s, project_id=pid, base_model=b).id for b in bases]


def _field(r) -> str:
    return r.json()["error"]["fields"][0]["path"]


def _count_served(client, h, pid) -> int:
    r = client.get(f"/api/projects/{pid}/served", headers=h)
    assert r.status_code == 200, r.text
    return len(r.json()["items"])


def test_serve_is_queued_read_by_members_only_and_stopped_before_it_starts(client, accounts, stopped_worker):
    # stopped_worker: in the whole suite the session's worker (started by an earlier test) takes the gpu
    # queue, and the serve job would start before the test reads it queued
    owner, viewer, reviewer, stranger = accounts.user(), accounts.user(), accounts.user(), accounts.user()
    pid = accounts.project(owner, viewer=viewer, reviewer=reviewer)
    other = accounts.project(stranger)
    (mid,) = _models(pid, "tiny-student")
    (foreign,) = _models(other, "tiny-student")
    h = owner["headers"]

    assert (
        client.post(f"/api/projects/{pid}/models/{mid}/serve", headers=viewer["headers"], json={}).status_code
        == 403
    )
    assert client.post(f"/api/projects/{pid}/models/{foreign}/serve", headers=h, json={}).status_code == 404
    r = client.post(f"/api/projects/{pid}/models/{mid}/serve", headers=h, json={})
    assert r.status_code == 202, r.text
    served = r.json()
    assert served["status"] == "queued" and served["name"] == f"student-{mid}"
    assert served["base_url"] is None and served["teacher_id"] is None and served["job_id"]
    assert served["adapters"] == [{"name": f"student-{mid}", "artifact_id": mid, "teacher_id": None}]
    url = f"/api/projects/{pid}/served/{served['id']}"
    job = client.get(f"/api/projects/{pid}/jobs/{served['job_id']}", headers=h).json()
    assert job["kind"] == "serve" and job["status"] == "queued"

    assert client.get(url, headers=viewer["headers"]).json()["status"] == "queued"
    assert client.get(url, headers=stranger["headers"]).status_code == 404
    assert (
        client.get(f"/api/projects/{other}/served/{served['id']}", headers=stranger["headers"]).status_code
        == 404
    )
    assert [
        s["id"] for s in client.get(f"/api/projects/{pid}/served", headers=viewer["headers"]).json()["items"]
    ] == [served["id"]]
    assert client.delete(url, headers=reviewer["headers"]).status_code == 403
    assert client.delete(url, headers=stranger["headers"]).status_code == 404

    # the same name is taken while it is live
    again = client.post(f"/api/projects/{pid}/models/{mid}/serve", headers=h, json={})
    assert again.status_code == 409 and again.json()["error"]["code"] == "served_name_taken"

    stopped = client.delete(url, headers=h)
    assert stopped.status_code == 202, stopped.text
    assert stopped.json()["status"] == "stopped" and stopped.json()["stopped_at"]
    assert (
        client.get(f"/api/projects/{pid}/jobs/{served['job_id']}", headers=h).json()["status"] == "cancelled"
    )
    assert client.delete(url, headers=h).json()["status"] == "stopped"  # an ended one is left as it is
    # once stopped, the name is free again
    renewed = client.post(f"/api/projects/{pid}/models/{mid}/serve", headers=h, json={})
    assert renewed.status_code == 202, renewed.text
    client.delete(f"/api/projects/{pid}/served/{renewed.json()['id']}", headers=h)


def test_bad_requests_name_their_field_and_queue_nothing(client, accounts):
    owner, stranger = accounts.user(), accounts.user()
    pid, other = accounts.project(owner), accounts.project(stranger)
    mid, sibling, elsewhere = _models(pid, "base-a", "base-a", "base-b")
    (foreign,) = _models(other, "base-a")
    h = owner["headers"]
    url = f"/api/projects/{pid}/models/{mid}/serve"
    before = _count_served(client, h, pid)

    r = client.post(url, headers=h, json={"settings": {"gpu_memory_utilization": 2}})
    assert r.status_code == 422 and _field(r) == "body.settings.gpu_memory_utilization"
    r = client.post(url, headers=h, json={"settings": {"extra_args": ["--trust-remote-code"]}})
    assert r.status_code == 422 and "--trust-remote-code" in r.text
    r = client.post(url, headers=h, json={"settings": {"served_model_name": "x"}})
    assert r.status_code == 422 and _field(r) == "body.settings.served_model_name"
    r = client.post(url, headers=h, json={"name": "has space"})
    assert r.status_code == 422 and "name" in r.text
    r = client.post(url, headers=h, json={"adapters": [elsewhere]})
    assert r.status_code == 422 and _field(r) == "body.adapters.0"
    assert "base-b" in r.json()["error"]["message"]
    r = client.post(url, headers=h, json={"adapters": [sibling, sibling]})
    assert r.status_code == 422 and _field(r) == "body.adapters.1"
    r = client.post(url, headers=h, json={"adapters": [foreign]})
    assert r.status_code == 404 and "body.adapters.0" in r.json()["error"]["message"]
    assert _count_served(client, h, pid) == before

    teacher = {"name": "taken", "backend": "openai_compat", "model": "m", "base_url": "http://127.0.0.1:9/v1"}
    r = client.post(f"/api/projects/{pid}/teachers", headers=h, json=teacher)
    assert r.status_code == 201, r.text
    r = client.post(url, headers=h, json={"name": "taken"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "served_name_taken"
    r = client.post(url, headers=h, json={"name": "pair", "adapters": [sibling]})
    assert r.status_code == 202, r.text
    assert [a["name"] for a in r.json()["adapters"]] == ["pair", f"pair-{sibling}"]
    client.delete(f"/api/projects/{pid}/served/{r.json()['id']}", headers=h)
    assert _count_served(client, h, pid) == before + 1


def test_a_served_model_whose_worker_died_is_marked_stopped_and_loses_its_teacher(client, accounts):
    """What the worker writes as it starts (the job running, the endpoint registered), then no heartbeat:
    the janitor's pass fails the job as worker_lost, which reads as stopped, and removes the teacher."""
    from backend.core.db import session_scope
    from backend.jobs.models import Job
    from backend.runs.lifecycle import move
    from backend.runs.models import Status
    from backend.serving.service import register_endpoint
    from workers.keepalive import janitor_pass

    owner = accounts.user()
    pid, h = accounts.project(owner), owner["headers"]
    (mid,) = _models(pid, "tiny-student")
    served = client.post(f"/api/projects/{pid}/models/{mid}/serve", headers=h, json={"name": "lost"}).json()
    with session_scope() as s:
        job = s.get_one(Job, served["job_id"])
        move(job, Status.running)
        job.heartbeat_at = datetime.now(UTC)
        register_endpoint(s, served_id=served["id"], base_url="http://127.0.0.1:9/v1", pid=999999, host="h")
    url = f"/api/projects/{pid}/served/{served['id']}"
    running = client.get(url, headers=h).json()
    assert running["status"] == "running" and running["base_url"] == "http://127.0.0.1:9/v1"
    tid = running["teacher_id"]
    teacher = client.get(f"/api/projects/{pid}/teachers/{tid}", headers=h).json()
    assert (teacher["name"], teacher["backend"], teacher["model"]) == ("lost", "vllm", "lost")
    assert teacher["base_url"] == "http://127.0.0.1:9/v1"

    janitor_pass()  # a fresh heartbeat: nothing happens
    assert client.get(url, headers=h).json()["status"] == "running"

    with session_scope() as s:
        s.get_one(Job, served["job_id"]).heartbeat_at = datetime.now(UTC) - timedelta(hours=1)
    janitor_pass()
    ended = client.get(url, headers=h).json()
    assert ended["status"] == "stopped", ended
    assert ended["error"]["code"] == "worker_lost" and ended["base_url"] is None and ended["pid"] is None
    assert ended["teacher_id"] is None
    assert client.get(f"/api/projects/{pid}/teachers/{tid}", headers=h).status_code == 404


@pytest.mark.slow
def test_the_cli_serves_lists_and_stops(client, accounts):
    owner = accounts.user()
    pid = accounts.project(owner)
    (mid,) = _models(pid, "tiny-student")

    bad = run_cli("models", "serve", str(pid), str(mid), "--settings", '{"dtype": 3}', "--no-wait")
    assert bad.returncode == 2 and "--settings" in bad.stderr and "dtype" in bad.stderr, bad.stderr
    assert run_cli("models", "served", str(pid)).stdout.strip() == "[]"

    r = run_cli("models", "serve", str(pid), str(mid), "--name", "from-cli", "--no-wait")
    assert r.returncode == 0, r.stderr
    assert "queued: from-cli" in r.stderr
    (served,) = json.loads(run_cli("models", "served", str(pid)).stdout)
    assert (served["name"], served["status"], served["artifact_id"]) == ("from-cli", "queued", mid)

    r = run_cli("models", "stop", str(pid), str(served["id"]))
    assert r.returncode == 0 and "stopped: from-cli" in r.stderr, r.stderr
    h = owner["headers"]
    assert client.get(f"/api/projects/{pid}/served/{served['id']}", headers=h).json()["status"] == "stopped"
