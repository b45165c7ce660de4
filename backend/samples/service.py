"""Reading a run's generations: the sample browser's filters and keyset pages in both directions.

Every filter keeps the page in generation-id order and has an index that answers it without scanning
the run (migration 0013): verdict and finish reason are equalities on `generations`; a verifier's result
and the judge's score read `verdicts` by (run, verifier, passed | score); prompt text is an ILIKE on
`prompt_search` through its pg_trgm GIN index once the set is indexed (backend/prompts/search.py),
before that an ILIKE scan of the set's `prompts`. A cursor is opaque: "a:<id>" means after that id, "b:<id>"
before it (the previous page), so no page is ever found by OFFSET.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from sqlalchemy import BigInteger, BindParameter, Connection, Row, Select, bindparam, func, select
from sqlalchemy.orm import Session

from backend.core.db import connection_of
from backend.core.errors import Invalid, NotFound
from backend.prompts.models import Prompt, PromptSearch
from backend.prompts.search import search_ready
from backend.runs.models import Run
from backend.samples.models import Generation, Verdict

JUDGE = "judge"  # the verifier name the judge stage writes its verdicts under
PREVIEW_CHARS = 240

Verdict3 = Literal["accepted", "rejected", "unverified"]
Result = Literal["pass", "fail", "undecided"]


@dataclass(frozen=True)
class Filters:
    status: str | None = None
    accepted: bool | None = None  # the older form of verdict=accepted|rejected
    verdict: Verdict3 | None = None
    verifier: str | None = None
    verifier_result: Result | None = None
    score_min: float | None = None
    score_max: float | None = None
    q: str | None = None
    finish_reason: str | None = None

    def check(self) -> None:
        """Combinations no single parameter's type can rule out: 422 with the field."""
        if self.verifier_result is not None and self.verifier is None:
            raise Invalid(
                "verifier_result needs verifier",
                fields=[
                    {"path": "query.verifier", "message": "required with verifier_result", "type": "missing"}
                ],
            )
        lo, hi = self.score_min, self.score_max
        if lo is not None and hi is not None and lo > hi:
            raise Invalid(
                "score_min is above score_max",
                fields=[
                    {"path": "query.score_min", "message": "must be <= score_max", "type": "value_error"}
                ],
            )


@dataclass(frozen=True)
class Cursor:
    after: bool  # True: the page after id; False: the page before it
    id: int


def encode(after: bool, gid: int) -> str:
    return base64.urlsafe_b64encode(f"{'a' if after else 'b'}:{gid}".encode()).decode().rstrip("=")


def decode(cursor: str) -> Cursor:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, value = raw.split(":", 1)
        if kind not in ("a", "b", "id"):  # "id:" is backend.core.pagination's (forward) cursor
            raise ValueError
        gid = int(value)
        if not 0 <= gid < 2**63:
            raise ValueError
        return Cursor(after=kind != "b", id=gid)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid(
            "cursor is not one this API issued",
            fields=[{"path": "query.cursor", "message": "invalid cursor", "type": "value_error"}],
        ) from exc


def _like(q: str) -> str:
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# Bind parameters of the page statement (its values); everything else about a page is its shape.
_RUN: BindParameter[int] = bindparam("run_id")
_CURSOR: BindParameter[int] = bindparam("cursor", type_=BigInteger)
_LIMIT: BindParameter[int] = bindparam("limit")


def filtered(f: Filters, after: bool, *, indexed: bool = False) -> Select:
    """The run's generations that pass every filter and lie beyond the cursor, unordered, with bind
    parameters for the values (params() gives them). indexed: the run's prompt set is in prompt_search
    (search_ready), so `q` reads that instead of prompts.

    The cursor's bound is repeated inside each verdict subquery: without it PostgreSQL merges the page
    with every verdict of the run from the start (a middle page of a million read 70k verdicts)."""
    stmt = select(Generation).where(Generation.run_id == _RUN)
    stmt = stmt.where(Generation.id > _CURSOR if after else Generation.id < _CURSOR)

    def beyond(sub: Select) -> Select:
        return sub.where(Verdict.generation_id > _CURSOR if after else Verdict.generation_id < _CURSOR)

    if f.status is not None:
        stmt = stmt.where(Generation.status == bindparam("status"))
    if f.accepted is not None:
        stmt = stmt.where(Generation.accepted.is_(f.accepted))
    if f.verdict is not None:
        value = {"accepted": True, "rejected": False, "unverified": None}[f.verdict]
        stmt = stmt.where(Generation.accepted.is_(value))
    if f.finish_reason is not None:
        stmt = stmt.where(Generation.finish_reason == bindparam("finish_reason"))
    if f.verifier is not None:
        sub = select(Verdict.generation_id).where(
            Verdict.run_id == _RUN, Verdict.verifier == bindparam("verifier")
        )
        if f.verifier_result is not None:
            value = {"pass": True, "fail": False, "undecided": None}[f.verifier_result]
            sub = sub.where(Verdict.passed.is_(value))
        stmt = stmt.where(Generation.id.in_(beyond(sub)))
    if f.score_min is not None or f.score_max is not None:
        sub = select(Verdict.generation_id).where(Verdict.run_id == _RUN, Verdict.verifier == JUDGE)
        if f.score_min is not None:
            sub = sub.where(Verdict.score >= bindparam("score_min"))
        if f.score_max is not None:
            sub = sub.where(Verdict.score <= bindparam("score_max"))
        stmt = stmt.where(Generation.id.in_(beyond(sub)))
    if f.q:
        src = PromptSearch if indexed else Prompt
        key = PromptSearch.prompt_id if indexed else Prompt.id
        sub = select(key).where(
            src.prompt_set_id == bindparam("prompt_set_id"), src.text.ilike(bindparam("like"), escape="\\")
        )
        stmt = stmt.where(Generation.prompt_id.in_(sub))
    return stmt


def params(run: Run | Row, f: Filters, cursor: int) -> dict:
    """The values filtered()'s statement binds."""
    return {
        "run_id": run.id,
        "cursor": cursor,
        "status": f.status,
        "finish_reason": f.finish_reason,
        "verifier": f.verifier,
        "score_min": f.score_min,
        "score_max": f.score_max,
        "prompt_set_id": run.prompt_set_id,
        "like": _like(f.q) if f.q else None,
    }


@dataclass
class PageOf:
    rows: list[dict]  # a generation's columns (reasoning left out on request), judge_score, prompt_preview
    next_cursor: str | None
    prev_cursor: str | None


@lru_cache(maxsize=512)
def _page_statement(f: Filters, after: bool, indexed: bool, reasoning: bool) -> Select:
    """One page: the keyset page as a subquery, each row with the judge's newest score and the start of
    its prompt (correlated lookups on the page's rows only). Built once per shape, f being the filters
    with their bound values blanked (list_generations): building the statement and its cache key cost
    more than running it."""
    cols = [col for col in Generation.__table__.c if reasoning or col.name != "reasoning"]
    stmt = filtered(f, after, indexed=indexed).with_only_columns(*cols)
    stmt = stmt.order_by(Generation.id.asc() if after else Generation.id.desc())
    page = stmt.limit(_LIMIT).subquery("page")
    judge = (
        select(Verdict.score)
        .where(Verdict.generation_id == page.c.id, Verdict.verifier == JUDGE, Verdict.run_id == _RUN)
        .order_by(Verdict.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    preview = (
        select(func.substr(Prompt.text, 1, PREVIEW_CHARS))
        .where(Prompt.id == page.c.prompt_id)
        .scalar_subquery()
    )
    return select(page, judge.label("judge_score"), preview.label("prompt_preview")).order_by(
        page.c.id.asc() if after else page.c.id.desc()
    )


def list_generations(
    session: Session | Connection,
    *,
    run: Run | Row,
    limit: int,
    cursor: str | None,
    filters: Filters | None = None,
    last: bool = False,
    reasoning: bool = True,
) -> PageOf:
    """A page of a run's generations in id order: the first (no cursor), the last (last=True), or the
    page after / before a cursor. next_cursor / prev_cursor are None where the run has no more.

    One statement (_page_statement). Plain rows, not ORM objects: this is the sample browser's hot
    path. reasoning=False leaves reasoning out."""
    c = decode(cursor) if cursor else Cursor(after=not last, id=0 if not last else 2**63 - 1)
    f = filters or Filters()
    f.check()
    indexed = bool(f.q) and search_ready(session, run.prompt_set_id)
    # The shape's filters with their values blanked, so that the cache holds one statement per shape.
    shape = Filters(**{k: (v if k in _SQL_VALUES else _blank(v)) for k, v in vars(f).items()})
    stmt = _page_statement(shape, c.after, indexed, reasoning)
    # through the session's connection: plain columns need none of the ORM's result handling
    result = connection_of(session).execute(stmt, {**params(run, f, c.id), "limit": limit + 1})
    keys = [str(k) for k in result.keys()]  # plain str: a Core result's labels are a subclass orjson refuses
    rows = [dict(zip(keys, r, strict=True)) for r in result.all()]  # one fetchall, not a fetch per row
    more = len(rows) > limit
    rows = rows[:limit]
    if not c.after:
        rows.reverse()
    if not rows:
        return PageOf(rows, None, None)
    # Going forward there is a page before this one when it started after a cursor (and the other way).
    forward_more, backward_more = (more, cursor is not None) if c.after else (cursor is not None, more)
    return PageOf(
        rows,
        encode(True, rows[-1]["id"]) if forward_more else None,
        encode(False, rows[0]["id"]) if backward_more else None,
    )


_SQL_VALUES = {"accepted", "verdict", "verifier_result"}  # rendered as SQL (IS TRUE...), not bound


def _blank(v):
    """A set filter's stand-in in the shape: any value of its kind gives the same SQL."""
    return None if v is None else True


def get_generation(session: Session, *, run: Run, generation_id: int) -> Generation:
    g = session.get(Generation, generation_id)
    if g is None or g.run_id != run.id:
        raise NotFound("generation not found")
    return g


def verdicts_of(session: Session, *, run: Run, generation_id: int) -> list[Verdict]:
    """Every verdict on one generation of the run (each verifier's, then the combination's)."""
    stmt = (
        select(Verdict)
        .where(Verdict.run_id == run.id, Verdict.generation_id == generation_id)
        .order_by(Verdict.id)
    )
    return list(session.scalars(stmt))
