"""rollout -> filter -> judge -> review -> snapshot through the API and a real Celery worker on
PostgreSQL and SQLite: judge verdicts with score and rationale, cached replies, routing (disagreements first),
leases, 409/403/404, edit and undo, and human decisions flowing into the snapshot and its card."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from backend.core.net import free_port
from tests.fakes.fake_openai_server import start_fake_server, stop_fake_server
from tests.support.env import DATA_DIR, unique
from tests.support.prompts import seed_prompt_set, write_jsonl
from tests.support.teachers import RUBRIC, openai_teacher
from tests.support.waiting import poll_until, wait_run, wait_stage

PROMPTS = [
    {"prompt": "What is six times seven? (a)", "reference": "42"},
    {"prompt": "What is six times seven? (b)", "reference": "42"},
    {"prompt": "What is three plus four?", "reference": "7"},
    {"prompt": "Which dessert is best?", "reference": "banana split with \\frac"},  # does not parse
]


@pytest.fixture(scope="module")
def servers():
    t_port, j_port = free_port(), free_port()
    teacher = start_fake_server(t_port, "--answers", "42,7", "--answer-bytes", "200",
                                log_path=DATA_DIR / "fake-judge-teacher.log")  # fmt: skip
    judge = start_fake_server(j_port, "--judge-scores", "42=5,7=1", log_path=DATA_DIR / "fake-judge.log")
    yield f"http://127.0.0.1:{t_port}/v1", f"http://127.0.0.1:{j_port}/v1"
    stop_fake_server(teacher)
    stop_fake_server(judge)


def _start(client, h, pid, pset, tid, jid, stages, **review):
    recipe = {
        "prompt_set_id": pset,
        "teacher_id": tid,
        "stages": stages,
        "rollout": {"n": 2, "max_tokens": 64, "chunk_size": 2, "use_cache": False},
        "filter": {"verifiers": {"verifiers": [{"name": "math", "settings": {"timeout_s": 10}}]}},
        "judge": {"teacher_id": jid, "chunk_size": 2},
        # judge rejects routed too (off by default), so the queue has enough to exercise
        "review": {
            "audit": {"share": 0, "uncalibrated_share": 0},
            "overlap_share": 0,
            "judge_rejected": {"route": True},
            **review,
        },  # fmt: skip
    }
    r = client.post(f"/api/projects/{pid}/runs", headers=h, json={"name": unique("run"), "recipe": recipe})
    assert r.status_code == 202, r.text
    return r.json()["id"]


def test_judge_review_snapshot_end_to_end(worker_database, client, accounts, tmp_path, servers):
    from backend.core.db import session_scope
    from backend.reviews.models import ReviewTask

    owner, rev, rev2, viewer, stranger = (accounts.user() for _ in range(5))
    pid = accounts.project(owner, reviewer=rev, viewer=viewer)
    from backend.projects.models import Membership, Role

    with session_scope() as s:
        s.add(Membership(project_id=pid, user_id=rev2["id"], role=Role.reviewer))
    h = owner["headers"]
    pset = seed_prompt_set(pid, write_jsonl(tmp_path / f"{unique('p')}.jsonl", PROMPTS))
    tid = openai_teacher(client, h, pid, "teacher", servers[0])
    jid = openai_teacher(client, h, pid, "judge", servers[1], price_input_per_m=1.0, price_output_per_m=2.0)
    r = client.post(f"/api/projects/{pid}/rubrics", headers=h, json=RUBRIC)
    assert r.status_code == 201 and r.json()["version"] == 1 and r.json()["pass_score"] == 5
    assert (
        client.post(f"/api/projects/{pid}/rubrics", headers=viewer["headers"], json=RUBRIC).status_code == 403
    )

    rid = _start(client, h, pid, pset, tid, jid, ["rollout", "filter", "judge", "review", "snapshot"])
    run = wait_stage(client, h, pid, rid, "review", "running")
    j = run["summary"]["judge"]
    assert (j["judged"], j["accepted"], j["rejected"], j["unsure"], j["unparseable"]) == (8, 4, 4, 0, 0)
    assert j["thresholds"] == {"accept": 5.0, "reject": 5.0, "source": "rubric", "labels": 0}
    assert j["cost_usd"] > 0 and j["prompt_tokens"] > 0 and j["cached"] == 0
    verdicts = client.get(
        f"/api/projects/{pid}/runs/{rid}/generations", headers=h, params={"limit": 50}
    ).json()
    assert verdicts["items"]

    base = f"/api/projects/{pid}/runs/{rid}/review"
    assert client.post(f"{base}/claim", headers=viewer["headers"]).status_code == 403
    assert client.post(f"{base}/claim", headers=stranger["headers"]).status_code == 404
    # the stage is running from its claim on, while its task is still filling the queue: wait for the fill
    q = poll_until(
        lambda: (lambda q: q if sum(q["by_reason"].values()) >= 6 else None)(
            client.get(base, headers=viewer["headers"]).json()
        ),
        "the review queue filled",
    )
    # ref 7: the verifier and the judge disagree on both attempts; ref 42: the judge rejected attempt 1
    # ("7") and the verifier agrees; the bad reference: no verifier could decide, a data defect people
    # see whatever the judge said (it rejected one attempt, accepted the other)
    assert q["by_reason"] == {"disagreement": 2, "judge_rejected": 2, "reference_unparseable": 2}

    first = client.post(f"{base}/claim", headers=rev["headers"]).json()
    assert first["item"]["reason"] == "disagreement" and first["left"] == 6
    assert any(v["verifier"] == "judge" and v["detail"]["rationale"] for v in first["item"]["verdicts"])
    again = client.post(f"{base}/claim", headers=rev["headers"]).json()  # one live item per reviewer
    assert again["item"]["task_id"] == first["item"]["task_id"]
    second = client.post(f"{base}/claim", headers=rev2["headers"]).json()["item"]
    assert second["reason"] == "disagreement" and second["task_id"] != first["item"]["task_id"]

    t1, t2 = first["item"]["task_id"], second["task_id"]
    r = client.post(f"{base}/items/{t2}/decision", headers=rev["headers"], json={"decision": "accept"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "foreign_lease"
    assert client.post(f"{base}/items/{t1}/heartbeat", headers=rev["headers"]).status_code == 200
    assert (
        client.post(
            f"{base}/items/{t1}/decision", headers=rev["headers"], json={"decision": "reject"}
        ).status_code
        == 200
    )
    assert (
        client.post(
            f"{base}/items/{t2}/decision", headers=rev2["headers"], json={"decision": "accept"}
        ).status_code
        == 200
    )
    r = client.post(f"{base}/items/{t1}/decision", headers=rev["headers"], json={"decision": "accept"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_leased"

    # edit, undo (the item comes back to its reviewer), edit again
    third = client.post(f"{base}/claim", headers=rev["headers"]).json()["item"]
    assert third["reason"] == "reference_unparseable"  # routed ahead of the judge's rejects
    edit = {"decision": "edit", "content": "Edited.\nAnswer: 42", "note": "fixed the answer"}
    r = client.post(f"{base}/items/{third['task_id']}/decision", headers=rev["headers"], json=edit)
    assert r.status_code == 200 and r.json()["before"]["content"] == third["content"]
    back = client.post(f"{base}/undo", headers=rev["headers"]).json()
    assert back["task_id"] == third["task_id"]
    assert (
        client.post(
            f"{base}/items/{third['task_id']}/decision", headers=rev["headers"], json=edit
        ).status_code
        == 200
    )

    # an expired lease answers 409 and the item goes back to the queue
    fourth = client.post(f"{base}/claim", headers=rev2["headers"]).json()["item"]
    with session_scope() as s:
        s.execute(update(ReviewTask).where(ReviewTask.id == fourth["task_id"])
                  .values(lease_until=datetime.now(UTC) - timedelta(seconds=1)))  # fmt: skip
    r = client.post(
        f"{base}/items/{fourth['task_id']}/decision", headers=rev2["headers"], json={"decision": "reject"}
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "lease_expired"
    assert client.post(f"{base}/claim", headers=rev["headers"]).json()["item"]["task_id"] == fourth["task_id"]

    log = client.get(f"{base}/log", headers=viewer["headers"]).json()
    assert [e["decision"] for e in log] == ["reject", "accept", "edit", "undo", "edit"]
    assert log[2]["undone"] and not log[4]["undone"]
    assert client.post(f"{base}/close", headers=rev["headers"]).status_code == 403
    assert client.post(f"{base}/close", headers=h).json() == {"closed": 3}

    run = wait_run(client, h, pid, rid)
    assert run["status"] == "succeeded", run
    rv = run["summary"]["review"]
    assert (rv["routed"], rv["decided"], rv["accepted"], rv["rejected"], rv["edited"], rv["closed"]) == (
        6,
        3,
        1,
        1,
        1,
        True,
    )
    counts = run["summary"]["snapshot"]["counts"]
    assert (counts["human_accepted"], counts["human_rejected"], counts["human_edits"]) == (2, 1, 1)
    snap = run["summary"]["snapshot"]["snapshot_id"]
    card = client.get(f"/api/projects/{pid}/snapshots/{snap}/card", headers=h).text
    assert "judged by rubric v1: accept at score >= 5" in card and "1 edited" in card
    # one cost per accepted trace on the run page and on the card: the rollout's cost and the judge's
    both = run["summary"]["rollout"]["cost_usd"] + run["summary"]["judge"]["cost_usd"]
    assert run["summary"]["judge"]["cost_usd"] > 0 and run["cost_usd"] == pytest.approx(both)
    assert run["cost_per_accepted_usd"] == round(both / run["summary"]["filter"]["accepted"], 6)
    assert f"cost per accepted trace (rollout and judge): ${run['cost_per_accepted_usd']:.6f}" in card
    rows = client.get(f"/api/projects/{pid}/snapshots/{snap}/files/messages.jsonl", headers=h).text
    # the edit's reference cannot be read, so no verifier can decide it: it stands on the reviewer's word
    assert "Edited.\\nAnswer: 42" in rows
    verdict = client.get(f"{base}/log", headers=h).json()[4]["after"]["verdict"]
    assert (verdict["verifier"], verdict["status"], verdict["passed"]) == (
        "math",
        "reference_unparseable",
        None,
    )

    # the same requests again: every judge reply comes from the cache, nothing is paid
    rid2 = _start(client, h, pid, pset, tid, jid, ["rollout", "filter", "judge"])
    j2 = wait_run(client, h, pid, rid2)["summary"]["judge"]
    assert j2["cached"] == 8 and j2["cost_usd"] == 0 and j2["judged"] == 8

    # the reviewers' labels reach calibration's basis, but the router picked them: none is counted
    cal = client.get(f"/api/projects/{pid}/rubrics/1/calibration", headers=viewer["headers"]).json()
    assert cal["labels"] == 0 and cal["status"] == "too_few_labels"
    assert cal["basis"]["picked"] == 3 and cal["basis"]["random"] == 0

    # by default a reject the verifier and the judge agree on goes to nobody
    rid3 = _start(client, h, pid, pset, tid, jid, ["rollout", "filter", "judge", "review"],
                  judge_rejected={"route": False})  # fmt: skip
    wait_stage(client, h, pid, rid3, "review", "running")
    q3 = client.get(f"/api/projects/{pid}/runs/{rid3}/review", headers=h).json()
    assert q3["by_reason"] == {"disagreement": 2, "reference_unparseable": 2}
    assert client.post(f"/api/projects/{pid}/runs/{rid3}/review/close", headers=h).json() == {"closed": 4}
