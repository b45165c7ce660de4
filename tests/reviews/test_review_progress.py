"""The review stage's progress moves as decisions land (not only at the end): a decision adds one, a
skip adds nothing, an undo takes one back; the claim's `left` is what nobody decided yet; the last
decision completes the stage with progress at its total."""

from __future__ import annotations

import pytest

from tests.support.accounts import Accounts
from tests.support.reviews import seed_review_run

pytestmark = pytest.mark.usefixtures("database")  # review paths on PostgreSQL and SQLite


def _stage(client, h, pid, rid) -> dict:
    run = client.get(f"/api/projects/{pid}/runs/{rid}", headers=h).json()
    return next(s for s in run["stages"] if s["kind"] == "review")


def test_progress_is_live(client, accounts, tmp_path):
    pid, rid, people, owner = seed_review_run(accounts, tmp_path, items=4, overlap_share=0, reviewers=2)
    a, b = (Accounts.bearer(Accounts.token_for(u)) for u in people)
    h, base = owner["headers"], f"/api/projects/{pid}/runs/{rid}/review"
    stage = _stage(client, h, pid, rid)
    assert (stage["progress_done"], stage["progress_total"]) == (0, 4)

    def claim(headers) -> dict:
        r = client.post(f"{base}/claim", headers=headers)
        assert r.status_code == 200, r.text
        return r.json()

    def decide(headers, task_id: int, decision: str) -> None:
        r = client.post(f"{base}/items/{task_id}/decision", headers=headers, json={"decision": decision})
        assert r.status_code == 200, r.text

    first = claim(a)
    assert first["left"] == 4
    decide(a, first["item"]["task_id"], "accept")
    assert _stage(client, h, pid, rid)["progress_done"] == 1
    second = claim(b)
    assert second["left"] == 3
    decide(b, second["item"]["task_id"], "skip")  # back in the queue: nothing decided
    assert _stage(client, h, pid, rid)["progress_done"] == 1
    decide(a, claim(a)["item"]["task_id"], "reject")
    assert _stage(client, h, pid, rid)["progress_done"] == 2
    assert client.post(f"{base}/undo", headers=a).status_code == 200  # the reject is taken back
    assert _stage(client, h, pid, rid)["progress_done"] == 1
    assert claim(b)["left"] == 3

    # everyone decides the rest; the last decision completes the stage at 4 of 4
    for headers in (a, b, a, b, a, b):
        got = claim(headers)
        if got["item"] is None:
            continue
        decide(headers, got["item"]["task_id"], "accept")
    stage = _stage(client, h, pid, rid)
    assert stage["status"] == "succeeded" and (stage["progress_done"], stage["progress_total"]) == (4, 4)
    assert stage["metrics"]["decided"] == 4 and stage["metrics"]["skipped"] == 1
    assert claim(a) == {"item": None, "left": 0}


def test_a_decision_through_another_project_is_404(client, accounts, tmp_path):
    """Decide checks the run's project in its own statement: naming a run of project B under project A
    (where the caller is a reviewer too) finds nothing and changes nothing."""
    from backend.core.db import session_scope
    from backend.projects.models import Membership, Role
    from backend.reviews.models import LEASED, ReviewTask

    pid_a, _, (rev,), _ = seed_review_run(accounts, tmp_path, items=1, overlap_share=0, reviewers=1)
    pid_b, rid_b, _, _ = seed_review_run(accounts, tmp_path, items=1, overlap_share=0, reviewers=0)
    with session_scope() as s:
        s.add(Membership(project_id=pid_b, user_id=rev, role=Role.reviewer))
    h = Accounts.bearer(Accounts.token_for(rev))
    item = client.post(f"/api/projects/{pid_b}/runs/{rid_b}/review/claim", headers=h).json()["item"]
    for decision in ("accept", "skip", "edit"):
        body = {"decision": decision, "content": "x"}
        url = f"/api/projects/{pid_a}/runs/{rid_b}/review/items/{item['task_id']}/decision"
        r = client.post(url, headers=h, json=body)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", r.text
    with session_scope() as s:
        task = s.get(ReviewTask, item["task_id"])
        assert (task.state, task.reviewer_id) == (LEASED, rev)
    r = client.post(f"/api/projects/{pid_b}/runs/{rid_b}/review/items/{item['task_id']}/decision", headers=h,
                    json={"decision": "accept"})  # fmt: skip
    assert r.status_code == 200, r.text  # the slot was untouched: its reviewer decides it as usual


def test_reasons_are_counted_in_attempts_on_the_queue_as_in_the_stage_summary(client, accounts, tmp_path):
    """An overlap item is one attempt in two slots: the queue's `by_reason` counts it once, as the review
    stage's summary does; the slots are a secondary figure of their own."""
    pid, rid, _, owner = seed_review_run(accounts, tmp_path, items=3, overlap_share=1.0, reviewers=2)
    h, base = owner["headers"], f"/api/projects/{pid}/runs/{rid}/review"
    queue = client.get(base, headers=h).json()
    assert queue["by_reason"] == {"judge_unsure": 3}
    assert queue["slots_by_reason"] == {"judge_unsure": 6}
    assert sum(queue["states"].values()) == 6
    assert client.post(f"{base}/close", headers=h).status_code == 200
    assert _stage(client, h, pid, rid)["metrics"]["by_reason"] == queue["by_reason"]
