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
from typing import Literal

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

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


def filtered(run: Run, f: Filters, c: Cursor | None = None, *, indexed: bool = False) -> Select:
    """The run's generations that pass every filter (and lie beyond the cursor), unordered. indexed:
    the run's prompt set is in prompt_search (search_ready), so `q` reads that instead of prompts.

    The cursor's bound is repeated inside each verdict subquery: without it PostgreSQL merges the page
    with every verdict of the run from the start (a middle page of a million read 70k verdicts)."""
    f.check()
    stmt = select(Generation).where(Generation.run_id == run.id)
    if c is not None:
        stmt = stmt.where(Generation.id > c.id if c.after else Generation.id < c.id)

    def beyond(sub: Select) -> Select:
        if c is None:
            return sub
        return sub.where(Verdict.generation_id > c.id if c.after else Verdict.generation_id < c.id)

    if f.status is not None:
        stmt = stmt.where(Generation.status == f.status)
    if f.accepted is not None:
        stmt = stmt.where(Generation.accepted.is_(f.accepted))
    if f.verdict is not None:
        value = {"accepted": True, "rejected": False, "unverified": None}[f.verdict]
        stmt = stmt.where(Generation.accepted.is_(value))
    if f.finish_reason is not None:
        stmt = stmt.where(Generation.finish_reason == f.finish_reason)
    if f.verifier is not None:
        sub = select(Verdict.generation_id).where(Verdict.run_id == run.id, Verdict.verifier == f.verifier)
        if f.verifier_result is not None:
            value = {"pass": True, "fail": False, "undecided": None}[f.verifier_result]
            sub = sub.where(Verdict.passed.is_(value))
        stmt = stmt.where(Generation.id.in_(beyond(sub)))
    if f.score_min is not None or f.score_max is not None:
        sub = select(Verdict.generation_id).where(Verdict.run_id == run.id, Verdict.verifier == JUDGE)
        if f.score_min is not None:
            sub = sub.where(Verdict.score >= f.score_min)
        if f.score_max is not None:
            sub = sub.where(Verdict.score <= f.score_max)
        stmt = stmt.where(Generation.id.in_(beyond(sub)))
    if f.q:
        src = PromptSearch if indexed else Prompt
        key = PromptSearch.prompt_id if indexed else Prompt.id
        sub = select(key).where(
            src.prompt_set_id == run.prompt_set_id, src.text.ilike(_like(f.q), escape="\\")
        )
        stmt = stmt.where(Generation.prompt_id.in_(sub))
    return stmt


@dataclass
class PageOf:
    rows: list[dict]  # a generation's columns (reasoning left out on request), judge_score, prompt_preview
    next_cursor: str | None
    prev_cursor: str | None


def list_generations(
    session: Session,
    *,
    run: Run,
    limit: int,
    cursor: str | None,
    filters: Filters | None = None,
    last: bool = False,
    reasoning: bool = True,
) -> PageOf:
    """A page of a run's generations in id order: the first (no cursor), the last (last=True), or the
    page after / before a cursor. next_cursor / prev_cursor are None where the run has no more.

    One statement: the keyset page as a subquery, each row with the judge's newest score and the start
    of its prompt (correlated lookups on the page's rows only). Plain rows, not ORM objects: this is
    the sample browser's hot path. reasoning=False leaves reasoning out."""
    c = decode(cursor) if cursor else Cursor(after=not last, id=0 if not last else 2**63 - 1)
    cols = [col for col in Generation.__table__.c if reasoning or col.name != "reasoning"]
    f = filters or Filters()
    indexed = bool(f.q) and search_ready(session, run.prompt_set_id)
    stmt = filtered(run, f, c, indexed=indexed).with_only_columns(*cols)
    stmt = stmt.order_by(Generation.id.asc() if c.after else Generation.id.desc())
    page = stmt.limit(limit + 1).subquery("page")
    judge = (
        select(Verdict.score)
        .where(Verdict.generation_id == page.c.id, Verdict.verifier == JUDGE, Verdict.run_id == run.id)
        .order_by(Verdict.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    preview = (
        select(func.substr(Prompt.text, 1, PREVIEW_CHARS))
        .where(Prompt.id == page.c.prompt_id)
        .scalar_subquery()
    )
    query = select(page, judge.label("judge_score"), preview.label("prompt_preview")).order_by(
        page.c.id.asc() if c.after else page.c.id.desc()
    )
    rows = [dict(m) for m in session.execute(query).mappings()]
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
