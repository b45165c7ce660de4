"""The review stage's numbers, and its completion from the API once the queue is drained or closed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.reviews.agreement import agreement
from backend.reviews.models import CLOSED, LEASED, OPEN, Review, ReviewTask
from backend.runs import lifecycle
from backend.runs.models import Run, RunStage, Status


def review_stage(session: Session, *, run: Run) -> RunStage | None:
    return session.scalar(select(RunStage).where(RunStage.run_id == run.id, RunStage.kind == "review"))


def summary(session: Session, *, run: Run, closed: bool = False) -> dict[str, Any]:
    states = dict(
        session.execute(
            select(ReviewTask.state, func.count())
            .where(ReviewTask.run_id == run.id)
            .group_by(ReviewTask.state)
        ).all()
    )
    reasons = dict(
        session.execute(
            select(ReviewTask.reason, func.count(func.distinct(ReviewTask.generation_id)))
            .where(ReviewTask.run_id == run.id)
            .group_by(ReviewTask.reason)
        ).all()
    )
    decisions = dict(
        session.execute(
            select(Review.decision, func.count())
            .where(Review.run_id == run.id, Review.undone.is_(False))
            .group_by(Review.decision)
        ).all()
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


def finish_if_drained(session: Session, *, run: Run, closed: bool = False) -> bool:
    """Complete the run's review stage when no slot is open or leased. Where every remaining slot is
    leased, other reviewers may be deciding them right now, unseen: the stage row is locked and the
    count taken again, so the last of several simultaneous decisions always completes the stage."""

    def remaining() -> tuple[bool, bool]:
        # existence, not counts: a queue of a million open slots answers from the first index entry
        def any_in(state: str) -> bool:
            q = select(ReviewTask.id).where(ReviewTask.run_id == run.id, ReviewTask.state == state)
            return session.scalar(q.limit(1)) is not None

        return any_in(OPEN), any_in(LEASED)

    open_, leased = remaining()
    if open_:
        return False
    stage = session.scalar(
        select(RunStage).where(RunStage.run_id == run.id, RunStage.kind == "review").with_for_update()
    )
    if stage is None or stage.status != Status.running:
        return False
    open_, leased = remaining()
    if open_ or leased:
        return False
    session.refresh(run)
    lifecycle.complete_stage(session, stage=stage, run=run, metrics=summary(session, run=run, closed=closed))
    return True
