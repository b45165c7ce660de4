"""Human labels imported from JSONL and CSV by generation id: a good file is stored (a byte-order mark
is fine), a bad row is a 422 naming its line, ids outside the project are refused, and a refused file
stores nothing at all. Viewers cannot import (403), strangers get 404."""

from __future__ import annotations

from sqlalchemy import select

from tests.support.reviews import seed_review_run


def _labels(pid: int) -> dict[int, bool]:
    from backend.core.db import session_scope
    from backend.reviews.models import HumanLabel

    with session_scope() as s:
        rows = s.execute(
            select(HumanLabel.generation_id, HumanLabel.accepted).where(
                HumanLabel.project_id == pid, HumanLabel.source == "import"
            )
        ).all()
    return dict(rows)


def _gids(rid: int) -> list[int]:
    from backend.core.db import session_scope
    from backend.samples.models import Generation

    with session_scope() as s:
        return list(s.scalars(select(Generation.id).where(Generation.run_id == rid).order_by(Generation.id)))


def _post(client, headers, pid, name: str, body: bytes):
    return client.post(
        f"/api/projects/{pid}/labels/import", headers=headers, files={"file": (name, body, "text/plain")}
    )


def test_label_import(client, accounts, tmp_path):
    pid, rid, _, owner = seed_review_run(accounts, tmp_path, items=4, overlap_share=0, reviewers=0)
    other_pid, other_rid, _, _ = seed_review_run(accounts, tmp_path, items=1, overlap_share=0, reviewers=0)
    g, foreign = _gids(rid), _gids(other_rid)[0]
    h = owner["headers"]

    # JSONL: blank lines are fine, every accept/reject spelling counts
    jsonl = (
        f'{{"generation_id": {g[0]}, "label": "accept"}}\n\n'
        f'{{"generation_id": "{g[1]}", "label": false}}\n'
        f'{{"generation_id": {g[2]}, "label": "Rejected"}}\n'
    ).encode()
    r = _post(client, h, pid, "labels.jsonl", jsonl)
    assert r.status_code == 200 and r.json() == {"imported": 3}, r.text
    assert _labels(pid) == {g[0]: True, g[1]: False, g[2]: False}

    # CSV with a byte-order mark: a later import replaces the importer's earlier label
    csv = f"generation_id,label\r\n{g[2]},yes\r\n{g[3]},reject\r\n".encode("utf-8-sig")
    r = _post(client, h, pid, "labels.csv", csv)
    assert r.status_code == 200 and r.json() == {"imported": 2}, r.text
    assert _labels(pid) == {g[0]: True, g[1]: False, g[2]: True, g[3]: False}
    before = _labels(pid)

    # bad rows: 422 naming the line; nothing of the file is stored
    cases = [
        ("bad.jsonl", f'{{"generation_id": {g[0]}, "label": "reject"}}\n\n'
         '{"generation_id": 1, "label": "maybe"}\n', "line 3: label 'maybe'"),
        ("bad.jsonl", f'{{"generation_id": {g[0]}, "label": "reject"}}\n{{"generation_id": 1,\n',
         "line 2: not JSON"),
        ("bad.jsonl", f'{{"generation_id": {g[0]}, "label": "reject"}}\n{{"label": "accept"}}\n',
         "line 2: needs generation_id and label"),
        ("bad.csv", f"generation_id,label\n{g[0]},reject\nabc,accept\n", "line 3: generation_id 'abc'"),
        ("bad.csv", f"generation_id,label\n{g[0]},reject\n99999999999999999999,accept\n", "line 3:"),
    ]  # fmt: skip
    for name, body, message in cases:
        r = _post(client, h, pid, name, body.encode())
        assert r.status_code == 422, (name, r.text)
        assert r.json()["error"]["code"] == "bad_label" and message in r.json()["error"]["message"], r.text
    # ids of another project or of nothing: refused as a whole, the good rows beside them too
    body = (
        f'{{"generation_id": {g[0]}, "label": "reject"}}\n{{"generation_id": {foreign}, "label": "accept"}}\n'
    )
    r = _post(client, h, pid, "labels.jsonl", body.encode())
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_generation", r.text
    assert str(foreign) in r.json()["error"]["message"]
    assert _labels(pid) == before and _labels(other_pid) == {}

    viewer, stranger = accounts.user(), accounts.user()
    from backend.core.db import session_scope
    from backend.projects.models import Membership, Role

    with session_scope() as s:
        s.add(Membership(project_id=pid, user_id=viewer["id"], role=Role.viewer))
    assert _post(client, viewer["headers"], pid, "labels.jsonl", jsonl).status_code == 403
    assert _post(client, stranger["headers"], pid, "labels.jsonl", jsonl).status_code == 404
    assert _labels(pid) == before

    # the imported labels reach the calibration report's count
    r = client.post(f"/api/projects/{pid}/rubrics", headers=h, json={"template": "{question} {answer}"})
    assert r.status_code == 201, r.text
    cal = client.get(f"/api/projects/{pid}/rubrics/{r.json()['version']}/calibration", headers=h).json()
    assert cal["labels"] == 0  # no judge verdicts of this rubric yet: nothing to pair the labels with
