"""Reading a run's generations."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core.pagination import keyset
from backend.runs.models import Run
from backend.samples.models import Generation, Verdict


def list_generations(
    session: Session,
    *,
    run: Run,
    limit: int,
    cursor: str | None,
    status: str | None = None,
    accepted: bool | None = None,
) -> tuple[list[Generation], str | None]:
    """A page of a run's generations, oldest first."""
    stmt = select(Generation).where(Generation.run_id == run.id)
    if status is not None:
        stmt = stmt.where(Generation.status == status)
    if accepted is not None:
        stmt = stmt.where(Generation.accepted.is_(accepted))
    rows, nxt = keyset(session, stmt, Generation.id, limit=limit, cursor=cursor, descending=False)
    return list(rows), nxt


def verdicts_of(session: Session, *, run: Run, generation_id: int) -> list[Verdict]:
    """Every verdict on one generation of the run (each verifier's, then the combination's)."""
    stmt = (
        select(Verdict)
        .where(Verdict.run_id == run.id, Verdict.generation_id == generation_id)
        .order_by(Verdict.id)
    )
    return list(session.scalars(stmt))
