"""The two lists every dashboard page polls (the runs list, a page of generations): their bodies, and a
fast path that answers them before FastAPI's router (issue 24 item 8).

Under load, most of a list request's CPU went to FastAPI's own work, not to the handler or its queries:
matching the path against every route (81 route checks for the runs list), solving the dependencies
and validating 3 or 14 query parameters one pydantic field at a time, and three thread hops (the
project dependency, the handler, the session's end). `FastLists` is a pure ASGI middleware, inside
HideProviderText, that recognises exactly `GET /api/projects/{id}/runs` and
`GET /api/projects/{id}/runs/{id}/generations`, parses their query by hand, and does everything else in
one thread hop: the same access check (`deps.project_access`), the same body (`runs_body`,
`generations_body`, which the routes call too) and one orjson dump.

It answers only what it is sure of, the 200s. Anything else goes to the app unchanged, which answers it
as it always has, errors included: a parameter it does not know, repeated, empty or not in the plain
form (limit=050, last=1, ...), a root path, no bearer token; and any AppError the checks or the body
raise (bad or expired token, a project the caller cannot see, a low role, a bad cursor, a run of
another project, filters that do not go together). So every error a caller can get is the route's own,
word for word, at the price of a second look on that (rare) path. tests/api/test_hot_lists.py holds
the two paths to the same answers.

The routes keep their signatures and response models, so the OpenAPI schema and the generated client do
not change."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import fields
from typing import Any
from urllib.parse import parse_qsl

import anyio
import orjson
from sqlalchemy.orm import Session

from backend.api.deps import end_session, hides_provider_text, project_access
from backend.api.json_body import OPTIONS
from backend.api.provider_text import STATE_KEY
from backend.core.db import get_sessionmaker
from backend.core.errors import AppError
from backend.core.ids import ID_MAX
from backend.projects.models import Project, Role
from backend.runs import service
from backend.runs.models import Status
from backend.samples.service import Filters
from backend.samples.service import list_generations as generations_page


def runs_body(
    session: Session, project: Project, *, limit: int, cursor: str | None, status: Status | None
) -> dict:
    """The runs list's body."""
    rows, nxt = service.list_runs(session, project=project, limit=limit, cursor=cursor, status=status)
    # rows hold RunListItem's fields in their declared types: serialised once (backend/api/json_body.py)
    return {"items": rows, "next_cursor": nxt}


def generations_body(
    session: Session,
    project: Project,
    run_id: int,
    *,
    limit: int,
    cursor: str | None,
    last: bool,
    reasoning: bool,
    filters: Filters,
) -> dict:
    """A page of a run's generations as the body the sample browser reads."""
    run = service.get_run_ref(session, project=project, run_id=run_id)
    page = generations_page(
        session, run=run, limit=limit, cursor=cursor, filters=filters, last=last, reasoning=reasoning
    )
    # The rows come from the database in GenerationRow's types: serialised once (backend/api/json_body.py;
    # this route is the sample browser's hot path, and a model per row cost more than the query).
    for r in page.rows:
        r["truncated"] = r["finish_reason"] == "length"
        r.setdefault("reasoning", None)  # left out on request: null
    return {"items": page.rows, "next_cursor": page.next_cursor, "prev_cursor": page.prev_cursor}


Body = Callable[[Session, Project], dict]  # a list's body, given the session and the caller's project


class NotOurs(Exception):
    """The fast path does not answer this request: the app does."""


# Query parameters in their plain forms only: each parser accepts a subset of what the route's own
# validation accepts and gives the same value; anything else is NotOurs (the route then accepts or
# refuses it itself).
def _int(lo: int, hi: int) -> Callable[[str], int]:
    def parse(v: str) -> int:
        if not (v.isascii() and v.isdigit() and v[0] != "0" and len(v) <= 10 and lo <= int(v) <= hi):
            raise NotOurs
        return int(v)

    return parse


def _bool(v: str) -> bool:
    if v not in ("true", "false"):
        raise NotOurs
    return v == "true"


def _match(pattern: str) -> Callable[[str], str]:
    rx = re.compile(pattern)

    def parse(v: str) -> str:
        if not rx.fullmatch(v):
            raise NotOurs
        return v

    return parse


def _text(lo: int, hi: int) -> Callable[[str], str]:
    def parse(v: str) -> str:
        if not lo <= len(v) <= hi or "\x00" in v:
            raise NotOurs
        return v

    return parse


def _score(v: str) -> float:
    if not re.fullmatch(r"-?[0-9]{1,6}(\.[0-9]{1,6})?", v):
        raise NotOurs
    return float(v)


_run_status = _match("|".join(Status))
_RUNS: dict[str, Callable[[str], Any]] = {
    "limit": _int(1, 200),
    "cursor": _text(1, 200),
    "status": lambda v: Status(_run_status(v)),
}
_GENERATIONS: dict[str, Callable[[str], Any]] = {
    "limit": _int(1, 500),
    "cursor": _text(1, 64),
    "last": _bool,
    "status": _match("ok|failed"),
    "accepted": _bool,
    "verdict": _match("accepted|rejected|unverified"),
    "verifier": _match(r"[A-Za-z0-9_.:-]{1,64}"),
    "verifier_result": _match("pass|fail|undecided"),
    "score_min": _score,
    "score_max": _score,
    "q": _text(3, 200),
    "finish_reason": _match(r"[a-z_]{1,32}"),
    "reasoning": _bool,
}
_FILTERS = [f.name for f in fields(Filters)]
_ID = r"([1-9][0-9]{0,9})"
_RUNS_PATH = re.compile(rf"/api/projects/{_ID}/runs")
_GENERATIONS_PATH = re.compile(rf"/api/projects/{_ID}/runs/{_ID}/generations")


def _query(raw: bytes, spec: dict[str, Callable[[str], Any]]) -> dict[str, Any]:
    """The query's values (parsed as Starlette parses a query string), or NotOurs."""
    out: dict[str, Any] = {}
    for k, v in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        if k not in spec or k in out:
            raise NotOurs
        out[k] = spec[k](v)
    return out


def _id(v: str) -> int:
    if int(v) > ID_MAX:
        raise NotOurs
    return int(v)


def _bearer(headers: list[tuple[bytes, bytes]]) -> str:
    for k, v in headers:
        if k == b"authorization":  # the first, as Starlette's Headers.get reads it
            scheme, _, token = v.decode("latin-1").partition(" ")
            if scheme.lower() != "bearer" or not token:
                raise NotOurs
            return token
    raise NotOurs


def _plan(scope: dict) -> tuple[str, int, Body]:
    """(token, project id, the body's builder) for a request this path answers, or NotOurs."""
    if scope.get("root_path"):
        raise NotOurs
    path, raw = scope["path"], scope.get("query_string", b"")
    if m := _RUNS_PATH.fullmatch(path):
        q = _query(raw, _RUNS)
        args = {"limit": q.get("limit", 50), "cursor": q.get("cursor"), "status": q.get("status")}
        return _bearer(scope["headers"]), _id(m[1]), lambda s, p: runs_body(s, p, **args)
    if m := _GENERATIONS_PATH.fullmatch(path):
        q = _query(raw, _GENERATIONS)
        run_id = _id(m[2])
        filters = Filters(**{k: q[k] for k in _FILTERS if k in q})
        page = {
            "limit": q.get("limit", 100),
            "cursor": q.get("cursor"),
            "last": q.get("last", False),
            "reasoning": q.get("reasoning", True),
        }
        return (
            _bearer(scope["headers"]),
            _id(m[1]),
            lambda s, p: generations_body(s, p, run_id, filters=filters, **page),
        )
    raise NotOurs


def _answer(token: str, project_id: int, body: Body) -> tuple[bytes, bool] | None:
    """(the JSON body, whether provider text is hidden), or None where the app must answer; in one
    thread hop: a session, the access check, the body's statements, the commit (a token's last use)."""
    session = get_sessionmaker()()
    ok = False
    try:
        access = project_access(session, token, project_id, Role.viewer)
        out = orjson.dumps(body(session, access.project), option=OPTIONS)
        ok = True
        return out, hides_provider_text(access)
    except AppError:
        return None  # the route says what is wrong, in its own words
    finally:
        end_session(session, ok)


async def answer(scope: dict) -> tuple[bytes, bool] | None:
    """The fast path's answer to an http scope, or None: the app answers."""
    if scope["method"] != "GET":
        return None
    try:
        plan = _plan(scope)
    except NotOurs:
        return None
    # shielded: the session ends in the thread whatever the client does
    with anyio.CancelScope(shield=True):
        found = await anyio.to_thread.run_sync(_answer, *plan)
    return found


class FastLists:
    """Pure ASGI middleware: the two lists' fast path, then the app for everything else."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        found = await answer(scope) if scope["type"] == "http" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        body, hide = found
        scope.setdefault("state", {})[STATE_KEY] = hide  # HideProviderText reads it, as from the route
        headers = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
