"""The project's Hub settings and the push routes (backend/hub/): the token is write-only and stored
encrypted, pushing needs a maintainer, the licence guard applies before any push, another project's
snapshot or model is a 404, and a push without a token is refused before any job is queued."""

from __future__ import annotations

from tests.support.hub import make_pushable


def _jobs(pid: int) -> int:
    from sqlalchemy import func, select

    from backend.core.db import session_scope
    from backend.jobs.models import Job

    with session_scope() as s:
        return s.scalar(
            select(func.count()).select_from(Job).where(Job.project_id == pid, Job.kind == "hub_push")
        )


def test_the_token_is_write_only_and_stored_encrypted(client, accounts):
    from backend.core.db import session_scope
    from backend.hub.models import HubSettings

    owner, maintainer, viewer = accounts.user(), accounts.user(), accounts.user()
    pid = accounts.project(owner, maintainer=maintainer, viewer=viewer)
    url = f"/api/projects/{pid}/hub"
    got = client.get(url, headers=viewer["headers"])
    assert got.status_code == 200, got.text
    assert got.json()["endpoint"] == "https://huggingface.co" and got.json()["has_token"] is False

    token = "hf_secretTOKENvalue1234567890"
    assert client.patch(url, json={"token": token}, headers=viewer["headers"]).status_code == 403
    r = client.patch(
        url, json={"token": token, "endpoint": "http://127.0.0.1:9/"}, headers=maintainer["headers"]
    )
    assert r.status_code == 200, r.text
    assert r.json()["has_token"] is True and r.json()["endpoint"] == "http://127.0.0.1:9"
    assert token not in r.text and token not in client.get(url, headers=viewer["headers"]).text
    with session_scope() as s:
        stored = s.get_one(HubSettings, pid).token_encrypted
    assert stored and token not in stored  # Fernet ciphertext, as teachers' keys

    # an endpoint change keeps the token; a bad URL is a 422 naming the field and changes nothing
    assert client.patch(url, json={"endpoint": "http://127.0.0.1:10"}, headers=maintainer["headers"]).json()[
        "has_token"
    ]
    bad = client.patch(url, json={"endpoint": "ftp://hub.example"}, headers=maintainer["headers"])
    assert bad.status_code == 422 and "endpoint" in bad.text
    assert client.get(url, headers=viewer["headers"]).json()["endpoint"] == "http://127.0.0.1:10"

    assert client.delete(f"{url}/token", headers=viewer["headers"]).status_code == 403
    cleared = client.delete(f"{url}/token", headers=maintainer["headers"])
    assert cleared.status_code == 200 and cleared.json()["has_token"] is False


def test_push_needs_a_maintainer_a_token_and_the_terms_acknowledged(client, accounts):
    owner, maintainer, viewer, stranger = accounts.user(), accounts.user(), accounts.user(), accounts.user()
    pid = accounts.project(owner, maintainer=maintainer, viewer=viewer)
    other = accounts.project(stranger)
    made = make_pushable(pid, licence="api_no_compete")
    theirs = make_pushable(other)
    snap_url = f"/api/projects/{pid}/snapshots/{made['snapshot_id']}/push"
    model_url = f"/api/projects/{pid}/models/{made['model_id']}/push"
    body = {"repo_id": "team/times-seven", "private": True}

    for url in (snap_url, model_url):
        assert client.post(url, json=body, headers=viewer["headers"]).status_code == 403
        assert client.post(url, json=body, headers=stranger["headers"]).status_code == 404
    # another project's snapshot and model through this project: 404, nothing queued
    for url in (
        f"/api/projects/{pid}/snapshots/{theirs['snapshot_id']}/push",
        f"/api/projects/{pid}/models/{theirs['model_id']}/push",
    ):
        r = client.post(url, json=body, headers=maintainer["headers"])
        assert r.status_code == 404, r.text

    # a bad repository id names the field
    bad = client.post(snap_url, json={"repo_id": "no-namespace"}, headers=maintainer["headers"])
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["path"].endswith("repo_id")
    assert client.post(snap_url, json={"repo_id": "a/b--c"}, headers=maintainer["headers"]).status_code == 422

    # the licence guard comes first: this run's teacher forbids training competing models
    for url in (snap_url, model_url):
        r = client.post(url, json=body, headers=maintainer["headers"])
        assert r.status_code == 403 and r.json()["error"]["code"] == "terms_not_acknowledged", r.text

    # acknowledged, but no token yet
    ack = body | {"acknowledge_terms": True}
    r = client.post(snap_url, json=ack, headers=maintainer["headers"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "hub_token_missing", r.text
    assert _jobs(pid) == 0

    # a closed port: the job (no worker in this lane) stays queued; its worker test is tests/workers
    client.patch(f"/api/projects/{pid}/hub", json={"token": "hf_x", "endpoint": "http://127.0.0.1:9"},
                 headers=maintainer["headers"])  # fmt: skip
    r = client.post(snap_url, json=ack, headers=maintainer["headers"])
    assert r.status_code == 202, r.text
    push = r.json()
    assert push["kind"] == "snapshot" and push["repo_id"] == "team/times-seven" and push["status"] == "queued"
    assert push["url"] is None and push["endpoint"] == "http://127.0.0.1:9" and _jobs(pid) == 1
    # while it is queued, the same push again is a 409 naming its job, not a second job
    again = client.post(snap_url, json=ack, headers=maintainer["headers"])
    assert again.status_code == 409 and again.json()["error"]["details"]["job_id"] == push["job_id"]
    listed = client.get(f"/api/projects/{pid}/hub/pushes?kind=snapshot", headers=viewer["headers"]).json()
    assert [p["id"] for p in listed] == [push["id"]]
    assert client.get(f"/api/projects/{other}/hub/pushes", headers=stranger["headers"]).json() == []
