"""A failed stage fixed and resumed from the dashboard's route (POST .../stages/{id}/resume): a train
stage refused by a waivable pre-flight check resumes with that check waived and trains, through a real
worker. The route's checks (422, roles, 409) are tests/api/test_stage_resume.py."""

from __future__ import annotations

import pytest

from backend.core.db import session_scope
from tests.support.factories import make_generations, make_run
from tests.support.waiting import wait_run
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


def test_a_train_stage_failed_by_a_check_resumes_with_it_waived(
    client, accounts, tmp_path, student, celery_worker
):
    pid, h, pset = project_with_prompts(client, accounts, tmp_path)
    with session_scope() as s:  # the teacher attempts behind the snapshot: the first was cut at max_tokens
        rollout = make_run(
            s, project_id=pid, prompt_set_id=pset, status="succeeded", stages={"rollout": "succeeded"}
        )
        gids = make_generations(
            s, rollout, n=4, each=lambda k: {"finish_reason": "length" if k == 0 else "stop"}
        )
    snap = make_snapshot(pid, conversations(4, seed=31), pairs=False, generation_ids=gids)
    train = {
        "snapshot_id": snap,
        "student": student,
        "max_steps": 2,
        "per_device_batch_size": 2,
        "save_steps": 2,
    }
    failed = train_run(client, h, pid, pset, train)
    assert failed["status"] == "failed", failed
    [stage] = failed["stages"]
    assert "truncated_traces: 1 of 4" in stage["error"]

    url = f"/api/projects/{pid}/runs/{failed['id']}/stages/{stage['id']}/resume"
    r = client.post(url, headers=h, json={"settings": {**train, "override_checks": ["truncated_traces"]}})
    assert r.status_code == 202, r.text
    run = wait_run(client, h, pid, failed["id"], timeout=300)
    assert run["status"] == "succeeded", run
    summary = run["summary"]["train"]
    checks = {c["name"]: c for c in summary["checks"]}
    assert checks["truncated_traces"]["overridden"] and not checks["truncated_traces"]["passed"]
    assert summary["step"] == 2 and run["recipe"]["train"]["override_checks"] == ["truncated_traces"]
