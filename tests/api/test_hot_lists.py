"""The lists' fast path (backend/api/hot_lists.py) against the routes it stands in front of: for every
request below, the app with the fast path answers exactly what the app without it answers (status,
body, the provider text a viewer must not see), the fast path itself answers each 200 and leaves every
error to the route (so the errors are the route's own, word for word), as it leaves a token whose use is
due to be noted (a write)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import anyio
import pytest
from fastapi.testclient import TestClient

from tests.support.accounts import Accounts
from tests.support.prompts import seed_prompt_set, write_jsonl

SAID = "upstream secret detail"


@pytest.fixture(scope="module")
def world(app, tmp_path_factory):
    """Users of each kind, a project with runs, and a run with generations (one with a provider's
    error text); another project with a run of its own."""
    from backend.core.db import session_scope
    from backend.core.egress import PROVIDER_SAYS
    from backend.prompts.models import Prompt
    from backend.runs.models import Run, Status
    from backend.samples.models import Generation, Verdict

    with TestClient(app) as c:
        acc = Accounts(c)
        owner, viewer, maintainer, stranger = acc.user(), acc.user(), acc.user(), acc.user()
        pid = acc.project(owner, viewer=viewer, maintainer=maintainer)
        other = acc.project(stranger)
    path = write_jsonl(
        tmp_path_factory.mktemp("hot") / "p.jsonl", [{"prompt": f"question {i}"} for i in range(4)]
    )
    pset, other_pset = seed_prompt_set(pid, path), seed_prompt_set(other, path)
    with session_scope() as s:
        runs = []
        for i, status in enumerate(["succeeded", "failed", "running", "succeeded", "queued"]):
            run = Run(project_id=pid, name=f"run {i}", recipe={"prompt_set_id": pset}, prompt_set_id=pset,
                      status=Status(status), summary={}, warnings=[])  # fmt: skip
            s.add(run)
            s.flush()
            runs.append(run.id)
        foreign = Run(
            project_id=other, name="theirs", recipe={}, prompt_set_id=other_pset, summary={}, warnings=[]
        )
        s.add(foreign)
        s.flush()
        prompts = s.query(Prompt.id).filter(Prompt.prompt_set_id == pset).order_by(Prompt.position).all()
        for i, (prompt_id,) in enumerate(prompts * 3):
            failed = i == 4
            g = Generation(run_id=runs[0], prompt_id=prompt_id, attempt=i // len(prompts),
                           content=None if failed else f"answer {i}", reasoning="think",
                           status="failed" if failed else "ok",
                           error=f"http 400{PROVIDER_SAYS}{SAID}" if failed else None,
                           finish_reason="length" if i % 2 else "stop",
                           accepted=[True, False, None][i % 3])  # fmt: skip
            s.add(g)
            s.flush()
            if i % 3 == 0:
                s.add(Verdict(run_id=runs[0], generation_id=g.id, verifier="judge", verifier_version="r1",
                              status="passed", passed=True, score=float(i)))  # fmt: skip
        foreign_id = foreign.id
    users = {"owner": owner, "viewer": viewer, "maintainer": maintainer, "stranger": stranger}
    return {"users": users, "pid": pid, "runs": runs, "other": other, "foreign": foreign_id}


@pytest.fixture(scope="module")
def plain(world):
    """The same app without the fast path: every request below goes through FastAPI's route."""
    from backend.main import create_app

    with TestClient(create_app(fast_lists=False)) as c:
        yield c


def _cursor(client, url: str, headers: dict, key: str) -> str:
    cursor = client.get(url, headers=headers).json()[key]
    assert cursor
    return cursor


def _requests(client, world) -> list[tuple[str, str, dict]]:
    """(what it shows, url, headers): the happy paths and every kind of error both lists can give."""
    h = world["users"]["owner"]["headers"]
    pid, run = world["pid"], world["runs"][0]
    runs, gens = f"/api/projects/{pid}/runs", f"/api/projects/{pid}/runs/{run}/generations"
    nxt = _cursor(client, runs + "?limit=2", h, "next_cursor")
    g_nxt = _cursor(client, gens + "?limit=5", h, "next_cursor")
    out = [(f"runs {q}", runs + q, h) for q in (
        "", "?limit=2", f"?limit=2&cursor={nxt}", "?status=succeeded", "?status=pending&limit=200",
        # not the fast path's: the route's own answer (an error, or a value in a form it leaves to it)
        "?limit=0", "?limit=201", "?limit=050", "?limit=x", "?status=nope", "?status=", "?cursor=garbage",
        "?limit=5&limit=6", "?unknown=1", "?cursor=%00", "?limit=%2B2",
    )]  # fmt: skip
    out += [(f"generations {q}", gens + q, h) for q in (
        "", "?limit=5", f"?limit=5&cursor={g_nxt}", "?last=true&limit=3", "?reasoning=false&limit=500",
        "?verdict=accepted", "?verdict=unverified", "?accepted=false", "?status=failed", "?status=ok",
        "?verifier=judge&verifier_result=pass", "?score_min=3&score_max=9.5", "?score_min=-1",
        "?q=question 2", "?finish_reason=length", "?last=false&reasoning=true",
        "?verifier_result=pass", "?score_min=5&score_max=1", "?score_min=inf", "?score_max=nan", "?q=ab",
        "?limit=501", "?cursor=bad", f"?cursor={'a' * 65}", "?last=1", "?last=yes", "?verdict=maybe",
        "?status=bad", "?finish_reason=Length", "?verifier=a%20b", "?q=%00abc", "?limit=1&limit=1",
    )]  # fmt: skip
    out += [
        ("a run of another project", f"/api/projects/{pid}/runs/{world['foreign']}/generations", h),
        ("a run that is not there", f"/api/projects/{pid}/runs/2147483647/generations", h),
        ("an id out of range", f"/api/projects/{pid}/runs/2147483648/generations", h),
        ("a project id out of range", "/api/projects/99999999999/runs", h),
        ("a project id with a leading zero", f"/api/projects/0{pid}/runs", h),
        ("a trailing slash", f"/api/projects/{pid}/runs/", h),
        ("another's project", f"/api/projects/{world['other']}/runs", h),
        ("no token", runs, {}),
        ("not bearer", runs, {"Authorization": "Basic abc"}),
        ("an empty bearer", runs, {"Authorization": "Bearer "}),
        ("a lowercase scheme", runs, {"Authorization": f"bearer {h['Authorization'].split()[1]}"}),
        ("a bad token", gens, {"Authorization": "Bearer nope"}),
    ]
    for role in ("viewer", "maintainer", "stranger"):
        headers = world["users"][role]["headers"]
        out += [(f"{role}: runs", runs, headers), (f"{role}: generations", gens + "?status=failed", headers)]
    return out


# 200s in forms the fast path leaves to the route (repeated, unknown, or not the plain form)
LEFT_TO_THE_ROUTE = {
    "runs ?limit=050",
    "runs ?limit=%2B2",
    "runs ?limit=5&limit=6",
    "runs ?unknown=1",
    "generations ?limit=1&limit=1",
    "generations ?last=1",
    "generations ?last=yes",
    "a project id with a leading zero",
    "a trailing slash",  # redirected to the plain path, which the fast path answers
}


def _scope(url: str, headers: dict) -> dict:
    path, _, query = url.partition("?")
    from urllib.parse import unquote

    return {
        "type": "http",
        "method": "GET",
        "path": unquote(path),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "state": {},
    }


def test_both_paths_give_the_same_answers_and_the_fast_one_takes_only_the_200s(client, plain, world):
    from backend.api.hot_lists import answer

    statuses = set()
    for what, url, headers in _requests(client, world):
        fast, slow = client.get(url, headers=headers), plain.get(url, headers=headers)
        assert (fast.status_code, fast.content) == (slow.status_code, slow.content), what
        assert fast.headers.get("content-type") == slow.headers.get("content-type"), what
        assert fast.headers.get("www-authenticate") == slow.headers.get("www-authenticate"), what
        statuses.add(slow.status_code)
        scope = _scope(url, headers)
        taken = anyio.run(answer, scope)
        if slow.status_code == 200 and what not in LEFT_TO_THE_ROUTE:
            assert taken is not None, f"{what}: the fast path left a plain request to the app"
            body, hidden = taken
            # HideProviderText rewrites the viewer's body afterwards: the owner's is byte for byte
            assert hidden or body == slow.content, what
        else:
            assert taken is None, f"{what}: the fast path answered a {slow.status_code}"
    assert statuses == {200, 401, 404, 422}, statuses


def test_a_viewer_never_sees_the_provider_text_on_the_fast_path(client, world):
    from backend.api.provider_text import HIDDEN

    url = f"/api/projects/{world['pid']}/runs/{world['runs'][0]}/generations?status=failed"
    for role, shown in (("viewer", False), ("maintainer", True), ("owner", True)):
        r = client.get(url, headers=world["users"][role]["headers"])
        assert r.status_code == 200, r.text
        [item] = r.json()["items"]
        assert (SAID in item["error"], HIDDEN in item["error"]) == (shown, not shown), role


def _token_row(token: str):
    from sqlalchemy import select

    from backend.core.db import session_scope
    from backend.users.models import ApiToken
    from backend.users.service import hash_token

    with session_scope() as s:
        return s.scalars(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).one()


def _set_token(token: str, **values) -> None:
    from sqlalchemy import update

    from backend.core.db import session_scope
    from backend.users.models import ApiToken
    from backend.users.service import hash_token

    with session_scope() as s:
        s.execute(update(ApiToken).where(ApiToken.token_hash == hash_token(token)).values(**values))


def test_the_route_notes_a_tokens_use_and_refuses_a_dead_token(client, plain, world):
    from backend.api.hot_lists import answer

    user = Accounts(client).user()
    token = user["headers"]["Authorization"].split()[1]
    url = f"/api/projects/{Accounts().project(user)}/runs"
    stale = datetime.now(UTC) - timedelta(minutes=5)
    _set_token(token, last_used_at=stale)
    # a use due to be noted is a write: the route's, and the fast path's again once it is written
    assert anyio.run(answer, _scope(url, user["headers"])) is None
    assert _token_row(token).last_used_at == stale
    assert client.get(url, headers=user["headers"]).status_code == 200
    assert _token_row(token).last_used_at > stale + timedelta(minutes=4)
    assert anyio.run(answer, _scope(url, user["headers"])) is not None
    for what, values in (
        ("expired", {"expires_at": datetime.now(UTC) - timedelta(seconds=1)}),
        ("revoked", {"revoked_at": datetime.now(UTC)}),
    ):
        _set_token(token, **values)
        assert anyio.run(answer, _scope(url, user["headers"])) is None, what
        fast, slow = client.get(url, headers=user["headers"]), plain.get(url, headers=user["headers"])
        assert fast.status_code == 401 and fast.json() == slow.json(), what
        _set_token(token, expires_at=None, revoked_at=None)
