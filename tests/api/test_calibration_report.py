"""The calibration report the dashboard's judge page reads: typed, with the precision/recall/coverage
curve over thresholds, computed from judge verdicts and imported human labels, on PostgreSQL and SQLite."""

from __future__ import annotations

import pytest

from tests.support.factories import make_generations, make_prompt_set, make_run, make_verdicts

pytestmark = pytest.mark.usefixtures("database")

RUBRIC = {"template": "Q: {question}\nA: {answer}\nJSON score 1-5", "scale_min": 1, "scale_max": 5}


def _judged_run(pid: int, scores: list[float]) -> list[int]:
    """A finished run whose generations carry judge verdicts (rubric version 1) with these scores."""
    from backend.core.db import session_scope

    rows = [{"prompt": f"q{i}", "reference": str(i)} for i in range(len(scores))]
    pset = make_prompt_set(pid, rows)
    with session_scope() as s:
        run = make_run(s, project_id=pid, prompt_set_id=pset, status="succeeded", recipe={})
        gids = make_generations(s, run, content="x")
        make_verdicts(s, run, gids, each=lambda k: {"passed": scores[k] >= 5, "score": scores[k],
                                                   "detail": {"rationale": "r"}})  # fmt: skip
    return gids


def test_calibration_report_with_curve_and_too_few_labels(client, accounts, tmp_path):
    owner, viewer, stranger = accounts.user(), accounts.user(), accounts.user()
    pid = accounts.project(owner, viewer=viewer)
    h = owner["headers"]
    assert client.post(f"/api/projects/{pid}/rubrics", headers=h, json=RUBRIC).status_code == 201
    # 20 at 5 (19 right), 10 at 3 (5 right), 10 at 1 (none right): as in test_judge_calibration
    scores = [5.0] * 20 + [3.0] * 10 + [1.0] * 10
    human = [True] * 19 + [False] + [True] * 5 + [False] * 5 + [False] * 10
    gids = _judged_run(pid, scores)
    url = f"/api/projects/{pid}/rubrics/1/calibration"

    few = "generation_id,label\n" + "".join(f"{g},{'accept' if ok else 'reject'}\n" for g, ok in
                                             zip(gids[:5], human[:5], strict=True))  # fmt: skip
    files = {"file": ("labels.csv", ("\ufeff" + few).encode(), "text/csv")}
    assert client.post(f"/api/projects/{pid}/labels/import", headers=h, files=files).json() == {"imported": 5}
    report = client.get(url, headers=viewer["headers"]).json()
    assert report["status"] == "too_few_labels" and report["labels"] == 5 and report["min_labels"] == 30
    assert "calibration needs 30" in report["message"] and report["thresholds"] is None
    assert report["curve"] == [
        {"threshold": 5.0, "accepted": 5, "precision": 1.0, "recall": 1.0, "coverage": 1.0}
    ]

    lines = "".join(
        f'{{"generation_id": {g}, "label": {str(ok).lower()}}}\n' for g, ok in zip(gids, human, strict=True)
    )
    files = {"file": ("labels.jsonl", lines.encode(), "application/x-ndjson")}
    assert client.post(f"/api/projects/{pid}/labels/import", headers=h, files=files).json() == {
        "imported": 40
    }
    report = client.get(url, headers=viewer["headers"]).json()
    assert report["status"] == "calibrated" and report["thresholds"] == {"accept": 5.0, "reject": 3.0}
    assert report["coverage"] == 0.75 and report["at_accept_threshold"]["precision"] == 0.95
    assert report["at_pass_score"]["confusion"] == {
        "true_accept": 19, "false_accept": 1, "false_reject": 5, "true_reject": 15,
    }  # fmt: skip
    assert [(p["threshold"], p["precision"], p["coverage"]) for p in report["curve"]] == [
        (1.0, 0.6, 1.0),
        (3.0, 0.8, 0.75),
        (5.0, 0.95, 0.5),
    ]
    assert client.get(url, headers=stranger["headers"]).status_code == 404

    bad = {"file": ("labels.jsonl", b'{"generation_id": 1, "label": "accept"}\nnot json\n', "text/plain")}
    r = client.post(f"/api/projects/{pid}/labels/import", headers=h, files=bad)
    assert r.status_code == 422 and r.json()["error"]["message"].startswith("line 2: not JSON")
    r = client.post(f"/api/projects/{pid}/labels/import", headers=viewer["headers"], files=files)
    assert r.status_code == 403


def _review_labels(pid: int, user_id: int, rid: int, labelled: list[tuple[int, bool, str]]) -> None:
    """Review decisions as the queue leaves them: a task with its reason and the person's label."""
    from backend.core.db import session_scope
    from backend.reviews.models import HumanLabel, ReviewTask

    with session_scope() as s:
        for gid, human, why in labelled:
            s.add(ReviewTask(run_id=rid, generation_id=gid, slot=0, reason=why, state="done"))
            s.add(
                HumanLabel(
                    project_id=pid, generation_id=gid, user_id=user_id, accepted=human, source="review"
                )
            )


def _run_of(gid: int) -> int:
    from backend.core.db import session_scope
    from backend.samples.models import Generation

    with session_scope() as s:
        return s.get_one(Generation, gid).run_id


def test_calibration_counts_only_the_random_audit_labels(client, accounts):
    owner = accounts.user()
    pid = accounts.project(owner)
    h = owner["headers"]
    assert client.post(f"/api/projects/{pid}/rubrics", headers=h, json=RUBRIC).status_code == 201
    # audit: 20 at 5 and 20 at 1, people agree with the judge on 36 of the 40
    audit_scores = [5.0] * 20 + [1.0] * 20
    audit_human = [True] * 18 + [False] * 2 + [False] * 18 + [True] * 2
    # disagreements: 24 at 5 and 24 at 1, people say the opposite every time (the router picked them)
    picked_scores = [5.0] * 24 + [1.0] * 24
    picked_human = [False] * 24 + [True] * 24
    gids = _judged_run(pid, audit_scores + picked_scores)
    rid = _run_of(gids[0])
    url = f"/api/projects/{pid}/rubrics/1/calibration"

    audit = [(g, hu, "audit") for g, hu in zip(gids[:40], audit_human, strict=True)]
    picked = [(g, hu, "disagreement") for g, hu in zip(gids[40:], picked_human, strict=True)]
    _review_labels(pid, owner["id"], rid, audit[:10] + picked)
    few = client.get(url, headers=h).json()
    # 58 labels in all, yet only the 10 random ones count: too few, and it says how many more
    assert few["status"] == "too_few_labels" and few["labels"] == 10
    assert "10 random human labels" in few["message"] and "calibration needs 30: 20 more" in few["message"]
    assert few["basis"]["by_reason"] == {"audit": 10, "disagreement": 48}

    _review_labels(pid, owner["id"], rid, audit[10:])
    report = client.get(url, headers=h).json()
    at = report["at_pass_score"]
    assert report["labels"] == 40 and at["accuracy"] == 0.9 and at["kappa"] == 0.8
    assert at["confusion"] == {"true_accept": 18, "false_accept": 2, "false_reject": 2, "true_reject": 18}
    basis = report["basis"]
    assert (basis["random"], basis["picked"], basis["by_reason"]) == (
        40,
        48,
        {"audit": 40, "disagreement": 48},
    )
    assert basis["text"] == (
        "figures rest on 40 labels from a random audit sample; 48 labels from disagreements are not "
        "counted because they were picked"
    )
    # the picked labels alone would say the judge is always wrong: reported apart, never the headline
    assert report["picked"]["accuracy"] == 0.0 and report["picked"]["kappa"] < 0
    assert report["picked"]["labels"] == 48
