"""The two lists every dashboard page polls (the runs list, a page of generations): their bodies, and a
fast path that answers them before FastAPI's router (issue 24 item 8).

Under load, most of a list request's CPU went to FastAPI's own work, not to the handler or its queries:
matching the path against every route (81 route checks for the runs list), solving the dependencies
and validating 3 or 14 query parameters one pydantic field at a time, three thread hops (the project
dependency, the handler, the session's end), and ORM objects for the token, user and project.
`FastLists` is a pure ASGI middleware, inside HideProviderText, that recognises exactly
`GET /api/projects/{id}/runs` and `GET /api/projects/{id}/runs/{id}/generations`, parses their query by
hand, and does the rest in one thread hop: one statement for the token, the caller's role and the run
(plain columns, checked by users.service's token_refusal as the route's are), then the same body as the
route's (`runs_body`, `generations_body`, which the routes call too), dumped once by orjson.

It answers only what it is sure of: a 200 that writes nothing. Anything else goes to the app unchanged,
which answers it as it always has, errors included: a parameter it does not know, repeated, empty or not
in the plain form (limit=050, last=1, ...), a root path, no bearer token, a refused token, a token whose
use is due to be noted (a write, once a minute), a project without the caller, a run of another project,
and any AppError the body raises (a bad cursor, filters that do not go together). So every error a
caller can get is the route's own, word for word, at the price of a second look on that (rare) path.
tests/api/test_hot_lists.py holds the two paths to the same answers.

The routes keep their signatures and response models, so the OpenAPI schema and the generated client do
not change."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import anyio
import orjson
from sqlalchemy import Connection, Integer, Row, String, and_, bindparam, select
from sqlalchemy.orm import Session

from backend.api.deps import hides_provider_text
from backend.api.json_body import OPTIONS
from backend.api.provider_text import STATE_KEY
from backend.core.db import get_engine
from backend.core.errors import AppError
from backend.core.ids import ID_MAX
from backend.projects.models import Membership, Role
from backend.runs import service
from backend.runs.models import Run, Status
from backend.samples.service import Filters
from backend.samples.service import list_generations as generations_page
from backend.users.models import ApiToken, User
from backend.users.service import token_params, token_refusal, use_to_note


def runs_body(
    session: Session | Connection, project_id: int, *, limit: int, cursor: str | None, status: Status | None
) -> dict:
    """The runs list's body."""
    rows, nxt = service.list_runs(session, project_id=project_id, limit=limit, cursor=cursor, status=status)
    # rows hold RunListItem's fields in their declared types: serialised once (backend/api/json_body.py)
    return {"items": rows, "next_cursor": nxt}


def generations_body(
    session: Session | Connection,
    run: Row,
    *,
    limit: int,
    cursor: str | None,
    last: bool,
    reasoning: bool,
    filters: Filters,
) -> dict:
    """A page of a run's generations (run: its id and prompt_set_id) as the body the sample browser reads."""
    page = generations_page(
        session, run=run, limit=limit, cursor=cursor, filters=filters, last=last, reasoning=reasoning
    )
    # The rows come from the database in GenerationRow's types: serialised once (backend/api/json_body.py;
    # this route is the sample browser's hot path, and a model per row cost more than the query).
    for r in page.rows:
        r["truncated"] = r["finish_reason"] == "length"
        r.setdefault("reasoning", None)  # left out on request: null
    return {"items": page.rows, "next_cursor": page.next_cursor, "prev_cursor": page.prev_cursor}


Body = Callable[[Connection, Row], dict]  # a list's body, given the connection and the access row


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


def _plan(scope: dict) -> tuple[str, int, int | None, Body]:
    """(token, project id, run id or None, the body's builder) for a request this path answers, or
    NotOurs."""
    if scope.get("root_path"):
        raise NotOurs
    path, raw = scope["path"], scope.get("query_string", b"")
    if m := _RUNS_PATH.fullmatch(path):
        q = _query(raw, _RUNS)
        args = {"limit": q.get("limit", 50), "cursor": q.get("cursor"), "status": q.get("status")}
        project_id = _id(m[1])
        return _bearer(scope["headers"]), project_id, None, lambda s, _: runs_body(s, project_id, **args)
    if m := _GENERATIONS_PATH.fullmatch(path):
        q = _query(raw, _GENERATIONS)
        filters = Filters(**{k: q[k] for k in _FILTERS if k in q})
        page = {
            "limit": q.get("limit", 100),
            "cursor": q.get("cursor"),
            "last": q.get("last", False),
            "reasoning": q.get("reasoning", True),
        }
        body: Body = lambda s, run: generations_body(s, run, filters=filters, **page)  # noqa: E731
        return _bearer(scope["headers"]), _id(m[1]), _id(m[2]), body
    raise NotOurs


# The token, its user's state and the caller's role in the project, as plain columns (no ORM objects),
# and for a generations page the run (as `id` and `prompt_set_id`, what reading its rows needs): one
# round trip. A membership implies its project (a foreign key).
_ACCESS = (
    select(ApiToken.kind, ApiToken.revoked_at, ApiToken.expires_at, ApiToken.last_used_at, User.is_active)
    .add_columns(Membership.role)
    .join(User, User.id == ApiToken.user_id)
    .outerjoin(
        Membership,
        and_(Membership.project_id == bindparam("project_id", type_=Integer), Membership.user_id == User.id),
    )
    .where(ApiToken.token_hash == bindparam("token_hash", type_=String))
)
_ACCESS_AND_RUN = _ACCESS.add_columns(Run.id, Run.prompt_set_id).outerjoin(
    Run, and_(Run.id == bindparam("run_id", type_=Integer), Run.project_id == bindparam("project_id"))
)


def _answer(token: str, project_id: int, run_id: int | None, body: Body) -> tuple[bytes, bool] | None:
    """(the JSON body, whether provider text is hidden), or None where the route must answer; in one
    thread hop: a connection, the access row, the body's statement, the end of the transaction.
    A Connection, not a Session: the Session's transaction bookkeeping (begin, rollback, restoring its
    snapshot, close) was a sixth of a runs-list request's CPU, for a read that holds no ORM object.

    Only a caller the route would let in, with nothing to write: a token whose use is due to be noted
    (once a minute), a refused token, a project without the caller, a run not of this project all go to
    the route, which writes, or refuses in its own words. The checks are users.service's own."""
    conn = get_engine().connect()
    try:
        stmt = _ACCESS if run_id is None else _ACCESS_AND_RUN
        found = conn.execute(
            stmt, {**token_params(token), "project_id": project_id, "run_id": run_id}
        ).first()
        now = datetime.now(UTC)
        if found is None or token_refusal(found, found, now) or use_to_note(found.last_used_at, now):
            return None
        if found.role is None or not found.role.allows(Role.viewer) or (run_id and found.id is None):
            return None
        return orjson.dumps(body(conn, found), option=OPTIONS), hides_provider_text(found.role)
    except AppError:
        return None  # a bad cursor, filters that do not go together: the route says so
    finally:
        conn.close()  # read only: the pool rolls the transaction back


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
