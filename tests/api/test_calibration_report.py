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
