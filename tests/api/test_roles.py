"""The role table: every project-scoped route against every role, a stranger and no token.

Viewers read, reviewers also review, maintainers also launch runs and manage teachers, owners also
manage members and invitations. A stranger's request answers 404 (the project does not exist for them);
no token, 401. The caller's own invitations (/api/invitations) are not project-scoped: their tests are
in tests/api/test_invitations.py, and the end of this file checks them against every role.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.env import unique
from tests.support.factories import make_generations
from tests.support.prompts import import_prompts, seed_prompt_set, write_jsonl

pytestmark = pytest.mark.slow  # the whole role matrix: `make test` runs it, `make test-fast` not


ROLES = ["viewer", "reviewer", "maintainer", "owner"]

# (method, path, json body or None, lowest role allowed, expected success status)
ROUTES = [
    ("GET", "/api/projects/{p}", None, "viewer", 200),
    ("PATCH", "/api/projects/{p}", {"description": "changed"}, "owner", 200),
    ("DELETE", "/api/projects/{p}", None, "owner", 204),
    ("GET", "/api/projects/{p}/members", None, "viewer", 200),
    ("GET", "/api/projects/{p}/invitations", None, "owner", 200),
    ("POST", "/api/projects/{p}/invitations", {"email": "{newcomer}", "role": "viewer"}, "owner", 201),
    ("DELETE", "/api/projects/{p}/invitations/{invitation}", None, "owner", 204),
    ("PATCH", "/api/projects/{p}/members/{viewer_id}", {"role": "reviewer"}, "owner", 200),
    ("DELETE", "/api/projects/{p}/members/{viewer_id}", None, "owner", 204),
    ("GET", "/api/projects/{p}/teachers", None, "viewer", 200),
    (
        "POST",
        "/api/projects/{p}/teachers",
        {"name": "t2", "backend": "openai_compat", "model": "m", "base_url": "http://127.0.0.1:1/v1"},
        "maintainer",
        201,
    ),
    ("GET", "/api/projects/{p}/teachers/{teacher}", None, "viewer", 200),
    ("PATCH", "/api/projects/{p}/teachers/{teacher}", {"model": "m2"}, "maintainer", 200),
    ("DELETE", "/api/projects/{p}/teachers/{teacher}", None, "maintainer", 204),
    ("GET", "/api/projects/{p}/prompt-sets", None, "viewer", 200),
    ("UPLOAD", "/api/projects/{p}/prompt-sets", None, "maintainer", 202),
    (
        "POST",
        "/api/projects/{p}/prompt-sets/hub",
        {"name": "h", "dataset": "openai/gsm8k"},
        "maintainer",
        202,
    ),
    ("GET", "/api/projects/{p}/prompt-sets/{pset}", None, "viewer", 200),
    ("GET", "/api/projects/{p}/prompt-sets/{pset}/prompts", None, "viewer", 200),
    ("GET", "/api/projects/{p}/runs", None, "viewer", 200),
    (
        "POST",
        "/api/projects/{p}/runs",
        {"name": "r", "recipe": {"prompt_set_id": "{pset}"}},
        "maintainer",
        202,
    ),
    ("GET", "/api/projects/{p}/runs/{run}", None, "viewer", 200),
    ("GET", "/api/projects/{p}/runs/{run}/stages", None, "viewer", 200),
    ("POST", "/api/projects/{p}/runs/{run}/cancel", None, "maintainer", 202),
    ("POST", "/api/projects/{p}/runs/{run}/requeue", None, "maintainer", 202),
    # no smoke sample waits for a decision on the pending run: the role check passes, then 409
    ("POST", "/api/projects/{p}/runs/{run}/smoke", {"decision": "continue"}, "maintainer", 409),
    (
        "POST",
        "/api/projects/{p}/runs/estimate",
        {"prompt_set_id": "{pset}", "teacher_id": "{teacher}"},
        "viewer",
        200,
    ),
    ("GET", "/api/projects/{p}/runs/{run}/generations", None, "viewer", 200),
    ("GET", "/api/projects/{p}/runs/{run}/generations/{generation}", None, "viewer", 200),
    ("GET", "/api/projects/{p}/runs/{run}/generations/{generation}/verdicts", None, "viewer", 200),
    ("GET", "/api/projects/{p}/runs/{run}/card", None, "viewer", 200),
    ("GET", "/api/projects/{p}/runs/{run}/evaluations/by-prompt", None, "viewer", 200),
    ("GET", "/api/projects/{p}/runs/{run}/export", None, "maintainer", 200),
    ("GET", "/api/projects/{p}/jobs", None, "viewer", 200),
    ("GET", "/api/projects/{p}/jobs/{job}", None, "viewer", 200),
    ("POST", "/api/projects/{p}/jobs/{job}/cancel", None, "maintainer", 202),
    ("GET", "/api/projects/{p}/stage-kinds", None, "viewer", 200),
    ("GET", "/api/projects/{p}/verifier-kinds", None, "viewer", 200),
    ("GET", "/api/projects/{p}/experiments", None, "viewer", 200),
    ("POST", "/api/projects/{p}/experiments/derive", None, "maintainer", 200),
]


@pytest.fixture(scope="module")
def people(app):
    from fastapi.testclient import TestClient

    from tests.support.accounts import Accounts

    with TestClient(app) as c:
        acc = Accounts(c)
        users = {r: acc.user() for r in [*ROLES, "stranger", "newcomer"]}
    return users


@pytest.fixture
def world(client, accounts, people, tmp_path: Path):
    """A fresh project with one member per role, a teacher, a prompt set and a pending run with one
    generation."""
    from backend.core.db import session_scope
    from backend.jobs.models import Job
    from backend.projects.invitations import invite
    from backend.projects.models import Project, Role
    from backend.prompts.models import Prompt
    from backend.runs.schemas import RunCreate
    from backend.runs.service import create_run

    owner = people["owner"]
    pid = accounts.project(
        owner, viewer=people["viewer"], reviewer=people["reviewer"], maintainer=people["maintainer"]
    )
    h = owner["headers"]
    teacher = client.post(
        f"/api/projects/{pid}/teachers",
        headers=h,
        json={"name": "t", "backend": "vllm", "model": "Qwen/Qwen2.5-0.5B-Instruct"},
    ).json()
    path = write_jsonl(tmp_path / "p.jsonl", [{"prompt": f"q{i}"} for i in range(3)])
    pset = {"id": seed_prompt_set(pid, path)}
    with session_scope() as s:
        run = create_run(
            s,
            project=s.get(Project, pid),
            user=None,
            data=RunCreate(name="r0", recipe={"prompt_set_id": pset["id"]}),
        )
        run_id = run.id
        prompt_id = s.query(Prompt.id).filter(Prompt.prompt_set_id == pset["id"]).first()[0]
        (generation,) = make_generations(s, run, 1, prompts=[prompt_id], content="an answer")
        job = Job(project_id=pid, kind="prompt_import", params={})  # queued, never sent: a row to read
        s.add(job)
        s.flush()
        job = job.id
        invitation = invite(
            s,
            project=s.get(Project, pid),
            email=unique("invitee") + "@example.com",
            role=Role.viewer,
            by=None,
        ).id
    return {
        "p": pid,
        "teacher": teacher["id"],
        "pset": pset["id"],
        "run": run_id,
        "generation": generation,
        "job": job,
        "invitation": invitation,
        "viewer_id": people["viewer"]["id"],
        "newcomer": people["newcomer"]["email"],
        "path": path,
    }


def _fill(value, ids):
    if isinstance(value, str):
        out = value.format(**ids)
        return int(out) if value.startswith("{") and out.isdigit() else out
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


def _call(client, method, path, body, headers, world):
    url = _fill(path, world)
    if method == "UPLOAD":
        return import_prompts(client, headers, world["p"], world["path"], name=unique("ps"))
    return client.request(method, url, headers=headers, json=_fill(body, world) if body else None)


@pytest.mark.parametrize("who", [*ROLES, "stranger", "anonymous"])
@pytest.mark.parametrize(
    ("method", "path", "body", "needed", "ok"), ROUTES, ids=[f"{m} {p}" for m, p, *_ in ROUTES]
)
def test_role_table(client, people, world, who, method, path, body, needed, ok):
    headers = {} if who == "anonymous" else people[who]["headers"]
    r = _call(client, method, path, body, headers, world)
    if who == "anonymous":
        expected = 401
    elif who == "stranger":
        expected = 404
    elif ROLES.index(who) >= ROLES.index(needed):
        expected = ok
    else:
        expected = 403
    assert r.status_code == expected, f"{who} {method} {path}: {r.status_code} {r.text[:300]}"
    if expected >= 400:
        assert (
            r.json()["error"]["code"]
            in {
                401: ("not_authenticated",),
                403: ("forbidden",),
                404: ("not_found",),
                409: ("no_decision_pending",),
            }[expected]  # fmt: skip
        )


def test_foreign_resources_are_404_even_for_owners_of_another_project(client, accounts, people, world):
    """An owner of project B asking for project A's teacher/run through B's id gets 404, not A's data."""
    other = accounts.project(people["stranger"])
    h = people["stranger"]["headers"]
    for url in (
        f"/api/projects/{other}/teachers/{world['teacher']}",
        f"/api/projects/{other}/runs/{world['run']}",
        f"/api/projects/{other}/prompt-sets/{world['pset']}",
        f"/api/projects/{other}/jobs/{world['job']}",
    ):
        r = client.get(url, headers=h)
        assert r.status_code == 404, url
    r = client.post(
        f"/api/projects/{other}/runs",
        headers=h,
        json={"name": "steal", "recipe": {"prompt_set_id": world["pset"]}},
    )
    assert r.status_code == 404


def test_project_list_shows_only_my_projects_with_my_role(client, people, world):
    mine = client.get("/api/projects", headers=people["reviewer"]["headers"]).json()
    assert {p["id"]: p["role"] for p in mine}[world["p"]] == "reviewer"
    theirs = client.get("/api/projects", headers=people["stranger"]["headers"]).json()
    assert world["p"] not in [p["id"] for p in theirs]


@pytest.mark.parametrize("who", [*ROLES, "stranger"])
def test_no_role_answers_an_invitation_to_someone_else(client, accounts, people, world, who):
    """Every role of the project, and a stranger, get 404 for an invitation to another address, and it
    stays pending; the owner sees it still."""
    owner = people["owner"]["headers"]
    target = accounts.user()
    inv = client.post(
        f"/api/projects/{world['p']}/invitations",
        headers=owner,
        json={"email": target["email"], "role": "owner"},
    ).json()
    h = people[who]["headers"]
    assert inv["id"] not in [i["id"] for i in client.get("/api/invitations", headers=h).json()]
    for action in ("accept", "decline"):
        r = client.post(f"/api/invitations/{inv['id']}/{action}", headers=h)
        assert r.status_code == 404 and r.json()["error"]["code"] == "invitation_not_found", r.text
    pending = client.get(f"/api/projects/{world['p']}/invitations", headers=owner).json()
    assert inv["id"] in [i["id"] for i in pending]


def test_own_invitation_routes_need_a_token(client, world):
    assert client.get("/api/invitations").status_code == 401
    for action in ("accept", "decline"):
        assert client.post(f"/api/invitations/{world['invitation']}/{action}").status_code == 401
