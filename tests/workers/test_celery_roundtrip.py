"""A real Celery worker process on Redis runs a run launched through the REST API."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from tests.support.waiting import wait_run

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "prompts" / "word_problems.jsonl"


def test_profile_run_through_redis_and_worker(client, accounts, importer):
    owner = accounts.user()
    pid = accounts.project(owner)
    h = owner["headers"]
    pset = importer(h, pid, EXAMPLE, name="words")["result"]["prompt_set"]
    accepted = client.post(
        f"/api/projects/{pid}/runs",
        headers=h,
        json={
            "name": "profile",
            "recipe": {"prompt_set_id": pset["id"], "profile": {"percentiles": [50, 90]}},
        },
    )
    assert accepted.status_code == 202, accepted.text
    body = accepted.json()
    assert body["status"] == "queued" and [st["status"] for st in body["stages"]] == ["queued"]

    run = wait_run(client, h, pid, body["id"])
    assert run["status"] == "succeeded", run
    stage = run["stages"][0]
    assert stage["status"] == "succeeded" and stage["progress_done"] == stage["progress_total"] == 200
    assert stage["started_at"] and stage["finished_at"]

    lengths = [len(json.loads(line)["question"]) for line in EXAMPLE.read_text().splitlines()]
    prof = run["summary"]["profile"]
    assert prof["prompt_count"] == 200
    assert prof["chars"]["min"] == min(lengths) and prof["chars"]["max"] == max(lengths)
    assert prof["chars"]["percentiles"]["p50"] == statistics.median(lengths)
    assert set(prof["chars"]["percentiles"]) == {"p50", "p90"}

    stages = client.get(f"/api/projects/{pid}/runs/{body['id']}/stages", headers=h).json()
    assert stages[0]["status"] == "succeeded" and stages[0]["metrics"] == prof
    # The prompt set a run used is frozen: edits must make a new version.
    assert client.get(f"/api/projects/{pid}/prompt-sets/{pset['id']}", headers=h).json()["frozen"] is True


def test_worker_records_failure_of_a_broken_stage(client, accounts, importer):
    """A stage that raises fails with its error stored on the run; the worker goes on to the next run."""
    from backend.core.db import session_scope
    from backend.projects.models import Project
    from backend.runs.lifecycle import enqueue_next_stage
    from backend.runs.schemas import RunCreate
    from backend.runs.service import create_run

    owner = accounts.user()
    pid = accounts.project(owner)
    h = owner["headers"]
    pset = importer(h, pid, EXAMPLE)["result"]["prompt_set"]
    with session_scope() as s:
        run = create_run(
            s,
            project=s.get(Project, pid),
            user=None,
            data=RunCreate(name="broken", recipe={"prompt_set_id": pset["id"]}),
        )
        # A recipe the API would refuse, stored behind its back: the profile code cannot use it.
        run.recipe = {**run.recipe, "profile": {"percentiles": "not-a-list"}}
        s.flush()
        enqueue_next_stage(s, run=run)
        run_id = run.id
    run = wait_run(client, h, pid, run_id)
    assert run["status"] == "failed", run
    assert run["stages"][0]["status"] == "failed" and "TypeError" in run["stages"][0]["error"]
    assert run["error"].startswith("stage profile: TypeError")
    follow = client.post(
        f"/api/projects/{pid}/runs",
        headers=h,
        json={"name": "after", "recipe": {"prompt_set_id": pset["id"]}},
    ).json()
    assert wait_run(client, h, pid, follow["id"])["status"] == "succeeded"
