"""No person admits what training would refuse: an accept or an edit of an attempt the admission rules
refuse (cut at max_tokens, empty, reasoning with no answer) is a 422 saying why, and changes nothing;
a reject of one stands. An edit on a run with verifiers is stored with a pending verdict and queues the
edit_verify job; overriding the verifiers needs an edit and a note."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.support.accounts import Accounts
from tests.support.reviews import seed_review_run

pytestmark = pytest.mark.usefixtures("database")  # review paths on PostgreSQL and SQLite

# generation k: 0 cut at max_tokens (with an answer in it), 1 empty, 2 reasoning and no answer, 3 and
# 4 whole
ATTEMPTS = [
    {"content": "Answer: 0", "finish_reason": "length"},
    {"content": "", "finish_reason": "stop"},
    {"content": "", "reasoning": "I was about to say", "finish_reason": "stop"},
    {"content": "Answer: 3", "finish_reason": "stop"},
    {"content": "Answer: 4", "finish_reason": "stop"},
]


def _state(rid: int):
    from backend.core.db import session_scope
    from backend.reviews.models import Review, ReviewTask

    with session_scope() as s:
        tasks = s.execute(select(ReviewTask.state).where(ReviewTask.run_id == rid).order_by(ReviewTask.id))
        reviews = s.execute(select(Review.decision).where(Review.run_id == rid).order_by(Review.id))
        return [t for (t,) in tasks], [r for (r,) in reviews]


def test_what_training_refuses_no_reviewer_admits(client, accounts, tmp_path):
    pid, rid, (rev,), _ = seed_review_run(
        accounts, tmp_path, items=5, overlap_share=0, reviewers=1, each=lambda k: ATTEMPTS[k]
    )
    h = Accounts.bearer(Accounts.token_for(rev))
    base = f"/api/projects/{pid}/runs/{rid}/review"

    def decide(body):
        item = client.post(f"{base}/claim", headers=h).json()["item"]
        return item, client.post(f"{base}/items/{item['task_id']}/decision", headers=h, json=body)

    # generation 0, cut at max_tokens: neither accepted nor mended by an edit
    item, r = decide({"decision": "accept"})
    assert item["not_admissible"] == "truncated"  # the reviewer is told before deciding
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "not_admissible" and err["details"] == {
        "reason": "truncated", "generation_id": item["generation_id"]
    }  # fmt: skip
    assert "max_tokens" in err["message"] and "reject it instead" in err["message"]
    before = _state(rid)
    assert before[1] == [] and before[0][0] == "leased"  # nothing changed: still this reviewer's
    r = client.post(
        f"{base}/items/{item['task_id']}/decision",
        headers=h,
        json={"decision": "edit", "content": "Answer: 0."},
    )
    assert r.status_code == 422 and r.json()["error"]["details"]["reason"] == "truncated"
    assert _state(rid) == before
    r = client.post(f"{base}/items/{item['task_id']}/decision", headers=h, json={"decision": "reject"})
    assert r.status_code == 200, r.text

    # generation 1, empty: no accept; an edit that gives it an answer is what a person may do
    item, r = decide({"decision": "accept"})
    assert item["not_admissible"] == "empty"
    assert r.status_code == 422 and r.json()["error"]["details"]["reason"] == "empty"
    r = client.post(
        f"{base}/items/{item['task_id']}/decision", headers=h, json={"decision": "edit", "content": "  "}
    )
    assert r.status_code == 422 and r.json()["error"]["details"]["reason"] == "empty"
    assert "edited text" in r.json()["error"]["message"]
    r = client.post(
        f"{base}/items/{item['task_id']}/decision",
        headers=h,
        json={"decision": "edit", "content": "Answer: 1"},
    )
    assert r.status_code == 200, r.text
    after = r.json()["after"]
    # the run filters with the math verifier: the edit waits for its verdict, in a job
    assert after["content"] == "Answer: 1" and after["verdict"] == {"status": "pending", "passed": None}
    _check_job_queued(pid, r.json()["id"])

    # generation 2, reasoning with no answer: accept refused; overriding the verifiers needs a note
    item, r = decide({"decision": "accept"})
    assert r.status_code == 422 and r.json()["error"]["details"]["reason"] == "no_answer"
    tid = item["task_id"]
    mended = {"decision": "edit", "content": "Answer: 2", "admit_if_rejected": True}
    r = client.post(f"{base}/items/{tid}/decision", headers=h, json=mended)
    assert r.status_code == 422 and r.json()["error"]["code"] == "override_needs_note"
    overriding_accept = {"decision": "accept", "admit_if_rejected": True, "note": "sure"}
    r = client.post(f"{base}/items/{tid}/decision", headers=h, json=overriding_accept)
    assert r.status_code == 422 and r.json()["error"]["code"] == "override_needs_note"
    r = client.post(
        f"{base}/items/{tid}/decision", headers=h, json={**mended, "note": "the reference is off"}
    )
    assert r.status_code == 200 and r.json()["after"]["override"] is True

    # a whole attempt is accepted as before
    item, r = decide({"decision": "accept"})
    assert item["not_admissible"] is None and r.status_code == 200, r.text
    assert _state(rid)[1] == ["reject", "edit", "edit", "accept"]


def _check_job_queued(pid: int, review_id: int) -> None:
    from backend.core.db import session_scope
    from backend.jobs.models import Job

    with session_scope() as s:
        jobs = s.execute(select(Job.kind, Job.params).where(Job.project_id == pid)).all()
    assert [(k, p) for k, p in jobs] == [("edit_verify", {"review_id": review_id})]


def test_an_edit_on_a_run_without_verifiers_has_no_verdict(client, accounts, tmp_path):
    recipe = {"stages": ["rollout", "judge", "review"]}
    pid, rid, (rev,), _ = seed_review_run(
        accounts, tmp_path, items=1, overlap_share=0, reviewers=1, recipe=recipe
    )
    h = Accounts.bearer(Accounts.token_for(rev))
    base = f"/api/projects/{pid}/runs/{rid}/review"
    item = client.post(f"{base}/claim", headers=h).json()["item"]
    body = {"decision": "edit", "content": "Answer: 9"}
    r = client.post(f"{base}/items/{item['task_id']}/decision", headers=h, json=body)
    assert r.status_code == 200 and "verdict" not in r.json()["after"]
