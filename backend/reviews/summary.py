"""The review stage's numbers, and its completion from the API once the queue is drained or closed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from backend.reviews.agreement import agreement
from backend.reviews.models import CLOSED, LEASED, OPEN, Review, ReviewTask
from backend.runs import lifecycle
from backend.runs.models import Run, RunStage, Status


def review_stage(session: Session, *, run: Run) -> RunStage | None:
    return session.scalar(select(RunStage).where(RunStage.run_id == run.id, RunStage.kind == "review"))


def slot_counts(session: Session, *, run_id: int, by: str, generations: bool = False) -> dict[str, int]:
    """The run's review slots counted by `state` or `reason`; generations=True counts distinct
    generations instead (an overlap item has two slots)."""
    column = getattr(ReviewTask, by)
    n = func.count(func.distinct(ReviewTask.generation_id)) if generations else func.count()
    return dict(
        session.execute(select(column, n).where(ReviewTask.run_id == run_id).group_by(column)).tuples().all()
    )


def summary(session: Session, *, run: Run, closed: bool = False) -> dict[str, Any]:
    states = slot_counts(session, run_id=run.id, by="state")
    reasons = slot_counts(session, run_id=run.id, by="reason", generations=True)
    decisions = dict(
        session.execute(
            select(Review.decision, func.count())
            .where(Review.run_id == run.id, Review.undone.is_(False))
            .group_by(Review.decision)
        )
        .tuples()
        .all()
    )
    return {
        "routed": sum(reasons.values()),
        "tasks": sum(states.values()),
        "by_reason": reasons,
        "decided": states.get("done", 0),
        "accepted": decisions.get("accept", 0),
        "rejected": decisions.get("reject", 0),
        "edited": decisions.get("edit", 0),
        "skipped": decisions.get("skip", 0),
        "closed": closed or bool(states.get(CLOSED)),
        "left": states.get(CLOSED, 0) + states.get(OPEN, 0) + states.get(LEASED, 0),
        "alpha": agreement(session, run_id=run.id)["alpha"],
    }


_T = ReviewTask.__table__
# existence, not counts: a queue of a million open slots answers from the first index entry
_ANY = select(_T.c.id).where(_T.c.run_id == bindparam("run"), _T.c.state == bindparam("state")).limit(1)


def finish_if_drained(session: Session, *, run: Any, closed: bool = False) -> bool:
    """Complete the run's review stage when no slot is open or leased. Where every remaining slot is
    leased, other reviewers may be deciding them right now, unseen: the stage row is locked and the
    count taken again, so the last of several simultaneous decisions always completes the stage.
    `run`: the Run, or a row with its id (the ORM object is loaded only to complete the stage)."""
    conn = session.connection()

    def any_in(state: str) -> bool:
        return conn.execute(_ANY, {"run": run.id, "state": state}).first() is not None

    if any_in(OPEN):
        return False
    stage = session.scalar(
        select(RunStage).where(RunStage.run_id == run.id, RunStage.kind == "review").with_for_update()
    )
    if stage is None or stage.status != Status.running:
        return False
    if any_in(OPEN) or any_in(LEASED):
        return False
    orm_run = session.get_one(Run, run.id, populate_existing=True)
    lifecycle.complete_stage(
        session, stage=stage, run=orm_run, metrics=summary(session, run=orm_run, closed=closed)
    )
    return True
