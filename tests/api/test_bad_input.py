"""Bad input on every route: a clear 4xx with a machine code and field paths, never a 500,
and nothing changed."""

from __future__ import annotations

import pytest

from tests.support.env import unique
from tests.support.prompts import seed_prompt_set, write_jsonl


@pytest.fixture
def owned(client, accounts, tmp_path):
    owner = accounts.user()
    pid = accounts.project(owner)
    path = write_jsonl(tmp_path / "p.jsonl", [{"prompt": "what is 2+2?"}])
    pset = seed_prompt_set(pid, path)
    return owner, pid, pset


def _fields(r) -> set[str]:
    return {f["path"] for f in r.json()["error"].get("fields", [])}


@pytest.mark.parametrize(
    ("method", "url", "body", "field"),
    [
        ("POST", "/api/auth/login", {"email": "not-an-email", "password": "x"}, "body.email"),
        ("POST", "/api/auth/login", {"email": "a@example.com"}, "body.password"),
        ("POST", "/api/tokens", {"name": ""}, "body.name"),
        ("POST", "/api/tokens", {"name": "x", "expires_in_days": 0}, "body.expires_in_days"),
        ("POST", "/api/projects", {"name": ""}, "body.name"),
        ("POST", "/api/projects", {"name": 12}, "body.name"),
        ("PATCH", "/api/projects/{p}", {"name": "x" * 201}, "body.name"),
        ("POST", "/api/projects/{p}/invitations", {"email": "x@example.com", "role": "emperor"}, "body.role"),
        ("PATCH", "/api/projects/{p}/members/1", {"role": None}, "body.role"),
        (
            "POST",
            "/api/projects/{p}/teachers",
            {"name": "t", "backend": "carrier-pigeon", "model": "m"},
            "body.backend",
        ),
        (
            "POST",
            "/api/projects/{p}/teachers",
            {"name": "t", "backend": "vllm", "model": "m", "base_url": "ftp://x"},
            "body.base_url",
        ),
        ("POST", "/api/projects/{p}/teachers", {"name": "t", "backend": "vllm"}, "body.model"),
        (
            "POST",
            "/api/projects/{p}/runs",
            {"name": "r", "recipe": {"prompt_set_id": "{pset}", "stages": ["teleport"]}},
            "body.recipe.stages",
        ),
        (
            "POST",
            "/api/projects/{p}/runs",
            {"name": "r", "recipe": {"prompt_set_id": "{pset}", "stages": []}},
            "body.recipe.stages",
        ),
        (
            "POST",
            "/api/projects/{p}/runs",
            {"name": "r", "recipe": {"prompt_set_id": "{pset}", "x": 1}},
            "body.recipe.x",
        ),
        (
            "POST",
            "/api/projects/{p}/runs",
            {"name": "r", "recipe": {"prompt_set_id": "{pset}", "profile": {"percentiles": [101]}}},
            "body.recipe.profile.percentiles",
        ),
        ("GET", "/api/projects/{p}/runs?limit=0", None, "query.limit"),
        ("GET", "/api/projects/{p}/runs?status=bogus", None, "query.status"),
        ("GET", "/api/projects/{p}/runs?cursor=%%%", None, "query.cursor"),
        ("GET", "/api/projects/{p}/prompt-sets/{pset}/prompts?limit=100000", None, "query.limit"),
        ("GET", "/api/projects/abc", None, "path.project_id"),
        ("GET", "/api/projects/0", None, "path.project_id"),
        ("GET", "/api/projects/{p}/runs/-1", None, "path.run_id"),
    ],
)
def test_invalid_fields_are_422_with_paths(client, owned, method, url, body, field):
    owner, pid, pset = owned
    fill = {"p": pid, "pset": pset}
    if body and "recipe" in body:
        body = {**body, "recipe": {**body["recipe"], "prompt_set_id": pset}}
    r = client.request(method, url.format(**fill) if "{" in url else url, headers=owner["headers"], json=body)
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "validation_error" and err["message"]
    assert field in _fields(r), r.text


def test_malformed_json_body_is_422_not_500(client, owned):
    owner, pid, _ = owned
    r = client.post(
        f"/api/projects/{pid}/teachers",
        headers={**owner["headers"], "Content-Type": "application/json"},
        content=b"{not json",
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize(
    "url",
    [
        "/api/projects/999999",
        "/api/projects/{p}/runs/999999",
        "/api/projects/{p}/teachers/999999",
        "/api/projects/{p}/prompt-sets/999999",
        "/api/projects/{p}/jobs/999999",
        "/api/no-such-route",
    ],
)
def test_unknown_ids_are_404(client, owned, url):
    owner, pid, _ = owned
    r = client.get(url.format(p=pid), headers=owner["headers"])
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_duplicates_are_409_and_change_nothing(client, accounts, owned):
    owner, pid, _ = owned
    h = owner["headers"]
    name = client.get(f"/api/projects/{pid}", headers=h).json()["name"]
    r = client.post("/api/projects", headers=h, json={"name": name})
    assert r.status_code == 409 and r.json()["error"]["code"] == "project_exists"
    t = {"name": "same", "backend": "vllm", "model": "m"}
    assert client.post(f"/api/projects/{pid}/teachers", headers=h, json=t).status_code == 201
    r = client.post(f"/api/projects/{pid}/teachers", headers=h, json=t)
    assert r.status_code == 409 and r.json()["error"]["code"] == "teacher_exists"
    assert len(client.get(f"/api/projects/{pid}/teachers", headers=h).json()) == 1
    r = client.post(
        f"/api/projects/{pid}/invitations", headers=h, json={"email": owner["email"], "role": "viewer"}
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_member"


def test_member_errors(client, owned):
    owner, pid, _ = owned
    h = owner["headers"]
    r = client.delete(f"/api/projects/{pid}/invitations/999999", headers=h)
    assert r.status_code == 404 and r.json()["error"]["code"] == "invitation_not_found"
    r = client.patch(f"/api/projects/{pid}/members/{owner['id']}", headers=h, json={"role": "viewer"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "last_owner"
    assert client.get(f"/api/projects/{pid}/members", headers=h).json()[0]["role"] == "owner"


def test_run_on_foreign_or_missing_prompt_set_is_404_and_stores_nothing(client, accounts, owned):
    owner, pid, _ = owned
    other_owner = accounts.user()
    other_pid = accounts.project(other_owner)
    for pset_id in (999999, None):
        body = {"name": "r", "recipe": {"prompt_set_id": pset_id}} if pset_id else {"name": "r"}
        r = client.post(f"/api/projects/{other_pid}/runs", headers=other_owner["headers"], json=body)
        assert r.status_code in (404, 422), r.text
    assert client.get(f"/api/projects/{other_pid}/runs", headers=other_owner["headers"]).json()["items"] == []


def test_cancel_finished_run_is_409(client, owned):
    owner, pid, pset = owned
    from backend.core.db import session_scope
    from backend.projects.models import Project
    from backend.runs.schemas import RunCreate
    from backend.runs.service import create_run

    with session_scope() as s:
        run = create_run(
            s,
            project=s.get(Project, pid),
            user=None,
            data=RunCreate(name=unique("r"), recipe={"prompt_set_id": pset}),
        )
        rid = run.id
    assert client.post(f"/api/projects/{pid}/runs/{rid}/cancel", headers=owner["headers"]).status_code == 202
    r = client.post(f"/api/projects/{pid}/runs/{rid}/cancel", headers=owner["headers"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "run_finished"


def test_keyset_pagination_walks_every_run_once(client, owned):
    owner, pid, pset = owned
    from backend.core.db import session_scope
    from backend.projects.models import Project
    from backend.runs.schemas import RunCreate
    from backend.runs.service import create_run

    with session_scope() as s:
        ids = [
            create_run(
                s,
                project=s.get(Project, pid),
                user=None,
                data=RunCreate(name=f"r{i}", recipe={"prompt_set_id": pset}),
            ).id
            for i in range(7)
        ]
    seen, cursor = [], None
    while True:
        q = f"/api/projects/{pid}/runs?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(q, headers=owner["headers"]).json()
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(ids, reverse=True)


def test_project_names_are_unique_per_owner_and_a_409_reveals_no_other_teams_names(client, accounts):
    a, b = accounts.user(), accounts.user()
    name = "shared-name-" + str(a["id"])
    assert client.post("/api/projects", headers=a["headers"], json={"name": name}).status_code == 201
    # an outsider picking the same name gets a project of their own: nothing tells them it is taken
    r = client.post("/api/projects", headers=b["headers"], json={"name": name})
    assert r.status_code == 201, r.text
    r = client.post("/api/projects", headers=a["headers"], json={"name": name})
    assert r.status_code == 409 and r.json()["error"]["code"] == "project_exists"
    other = client.post("/api/projects", headers=b["headers"], json={"name": "x-" + name}).json()
    r = client.patch(f"/api/projects/{other['id']}", headers=b["headers"], json={"name": name})
    assert r.status_code == 409  # b's own project of that name
    from backend.core.db import session_scope
    from backend.core.errors import Conflict
    from backend.projects.service import find_project

    with session_scope() as s, pytest.raises(Conflict, match="several projects are named"):
        find_project(s, name)


def test_project_slugs_are_unique_across_owners_and_stable_across_renames(client, accounts):
    a, b = accounts.user(), accounts.user()
    name = f"Évals: Math & Code {a['id']}"
    pa = client.post("/api/projects", headers=a["headers"], json={"name": name}).json()
    pb = client.post("/api/projects", headers=b["headers"], json={"name": name}).json()
    assert pa["slug"] == f"evals-math-code-{a['id']}-{pa['id']}"
    assert pb["slug"] == f"evals-math-code-{a['id']}-{pb['id']}" != pa["slug"]
    r = client.patch(f"/api/projects/{pa['id']}", headers=a["headers"], json={"name": "renamed " + name})
    assert r.status_code == 200 and r.json()["slug"] == pa["slug"]  # a rename keeps links working
    odd = client.post("/api/projects", headers=a["headers"], json={"name": "???"}).json()
    assert odd["slug"] == f"project-{odd['id']}"
