"""Cancelling a run whose review stage waits for people ends it at once, from the API: no worker is
there to see a cancel, so the queue is closed and the run is cancelled in the request. A decision,
heartbeat, claim, undo or close after that is refused (409) or finds nothing; a run left cancelling by
an older release is ended by the janitor."""

from __future__ import annotations

import pytest

from tests.support.accounts import Accounts
from tests.support.reviews import seed_review_run

pytestmark = pytest.mark.usefixtures("database")  # review paths on PostgreSQL and SQLite


def test_cancel_during_review_ends_the_run_at_once_and_later_decisions_are_409(client, accounts, tmp_path):
    from backend.core.db import session_scope
    from backend.reviews.models import CLOSED, DONE, ReviewTask

    pid, rid, (rev, other), owner = seed_review_run(accounts, tmp_path, items=4, overlap_share=0, reviewers=2)
    a, b = (Accounts.bearer(Accounts.token_for(u)) for u in (rev, other))
    base = f"/api/projects/{pid}/runs/{rid}"
    decided = client.post(f"{base}/review/claim", headers=a).json()["item"]
    r = client.post(
        f"{base}/review/items/{decided['task_id']}/decision", headers=a, json={"decision": "accept"}
    )
    assert r.status_code == 200, r.text
    held = client.post(f"{base}/review/claim", headers=a).json()["item"]  # leased when the cancel comes
    other_held = client.post(f"{base}/review/claim", headers=b).json()["item"]

    r = client.post(f"{base}/cancel", headers=owner["headers"])
    assert r.status_code == 202, r.text
    run = r.json()
    assert run["status"] == "cancelled", run  # at once: no worker will ever see this cancel
    stages = {s["kind"]: s["status"] for s in run["stages"]}
    assert stages == {"rollout": "succeeded", "filter": "succeeded", "review": "cancelled"}
    assert client.get(base, headers=owner["headers"]).json()["status"] == "cancelled"

    for headers, item in ((a, held), (b, other_held)):
        for decision in ("accept", "reject", "skip", "edit"):
            body = {"decision": decision, "content": "x"}
            r = client.post(f"{base}/review/items/{item['task_id']}/decision", headers=headers, json=body)
            assert r.status_code == 409, (decision, r.text)
        r = client.post(f"{base}/review/items/{item['task_id']}/heartbeat", headers=headers)
        assert r.status_code == 409, r.text
    assert client.post(f"{base}/review/claim", headers=b).json() == {"item": None, "left": 0}
    assert client.post(f"{base}/review/undo", headers=a).status_code == 409
    assert client.post(f"{base}/review/close", headers=owner["headers"]).status_code == 409
    r = client.post(f"{base}/cancel", headers=owner["headers"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "run_finished"
    with session_scope() as s:
        states = {t.id: t.state for t in s.query(ReviewTask).filter(ReviewTask.run_id == rid)}
    assert states.pop(decided["task_id"]) == DONE  # what was decided stands
    assert set(states.values()) == {CLOSED}
    queue = client.get(f"{base}/review", headers=owner["headers"]).json()
    assert queue["stage_status"] == "cancelled"


def test_a_review_left_cancelling_is_ended_by_the_janitor(client, accounts, tmp_path):
    """Runs cancelled before this fix sit in `cancelling` with their review stage: the janitor's check
    ends them (no heartbeat is ever expected of a stage that waits for people)."""
    from backend.core.db import session_scope
    from backend.reviews.models import CLOSED, ReviewTask
    from backend.runs.lifecycle import requeue_stalled
    from backend.runs.models import Run, RunStage, Status

    pid, rid, _, owner = seed_review_run(accounts, tmp_path, items=2, overlap_share=0, reviewers=1)
    with session_scope() as s:
        s.get(Run, rid).status = Status.cancelling
        for stage in s.query(RunStage).filter(RunStage.run_id == rid, RunStage.kind == "review"):
            stage.status = Status.cancelling
    with session_scope() as s:
        assert rid in requeue_stalled(s)
    run = client.get(f"/api/projects/{pid}/runs/{rid}", headers=owner["headers"]).json()
    assert run["status"] == "cancelled" and run["stages"][-1]["status"] == "cancelled"
    with session_scope() as s:
        assert {t.state for t in s.query(ReviewTask).filter(ReviewTask.run_id == rid)} == {CLOSED}
