"""The review queue: claim-next with a lease (SELECT ... FOR UPDATE SKIP LOCKED), heartbeat, decide,
undo one's own last decision, close; the run's review stage completes here once nothing is left.

A decision on a lease that ran out or is someone else's answers 409 with what happened. Slots of one
generation (the overlap share) never go to the same reviewer twice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from backend.core.errors import Conflict, NotFound
from backend.judge.labels import upsert_labels
from backend.reviews.models import CLOSED, DONE, LEASED, OPEN, HumanLabel, Review, ReviewTask
from backend.reviews.schemas import DecisionIn
from backend.reviews.summary import finish_if_drained, review_stage
from backend.runs.models import Run
from backend.samples.models import Generation

SKIP_PENALTY = 100  # a skipped item goes behind every fresh one
MAX_TWINS = 64  # candidates passed over (twins of this reviewer's items) before giving up


def lease_s_of(run: Run) -> int:
    return int(((run.recipe or {}).get("review") or {}).get("lease_s", 600))


def claim_next(session: Session, *, run: Run, user_id: int) -> ReviewTask | None:
    """This reviewer's live item (its lease renewed), else the first claimable slot, skipping rows
    other reviewers are claiming this instant."""
    now = datetime.now(UTC)
    until = now + timedelta(seconds=lease_s_of(run))
    mine = session.scalar(
        select(ReviewTask)
        .where(
            ReviewTask.run_id == run.id,
            ReviewTask.state == LEASED,
            ReviewTask.reviewer_id == user_id,
            ReviewTask.lease_until >= now,
        )
        .limit(1)
        .with_for_update()
    )
    passed: list[int] = []
    while mine is None and len(passed) < MAX_TWINS:
        # The twin check is a lookup per candidate, not part of the query: as an anti-join the
        # planner reads every slot the reviewer ever decided (a scan at a million items).
        stmt = (
            select(ReviewTask)
            .where(
                ReviewTask.run_id == run.id,
                ReviewTask.state != DONE,
                ReviewTask.state != CLOSED,
                or_(ReviewTask.state == OPEN, ReviewTask.lease_until < now),
            )
            .order_by(ReviewTask.priority, ReviewTask.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if passed:
            stmt = stmt.where(ReviewTask.id.not_in(passed))
        candidate = session.scalar(stmt)
        if candidate is None:
            return None
        twin = session.scalar(
            select(ReviewTask.id)
            .where(
                ReviewTask.generation_id == candidate.generation_id,
                ReviewTask.reviewer_id == user_id,
                ReviewTask.id != candidate.id,
                ReviewTask.run_id == run.id,
            )
            .limit(1)
        )
        if twin is None:
            mine = candidate
        else:
            passed.append(candidate.id)  # the other slot of an item this reviewer has: leave it to others
    if mine is not None:
        mine.state, mine.reviewer_id, mine.lease_until = LEASED, user_id, until
    return mine


def _locked(session: Session, *, run: Run, task_id: int) -> ReviewTask:
    task = session.scalar(select(ReviewTask).where(ReviewTask.id == task_id).with_for_update())
    if task is None or task.run_id != run.id:
        raise NotFound(f"review item {task_id} not found")
    return task


def _check_lease(task: ReviewTask, user_id: int, now: datetime) -> None:
    if task.state != LEASED:
        raise Conflict(
            f"review item {task.id} is {task.state}, not leased to you",
            code="not_leased",
            details={"state": task.state},
        )
    if task.reviewer_id != user_id:
        raise Conflict(
            f"review item {task.id} is leased to another reviewer",
            code="foreign_lease",
            details={"state": task.state},
        )
    if task.lease_until is None or task.lease_until < now:
        raise Conflict(
            f"your lease on review item {task.id} expired at {task.lease_until:%Y-%m-%d %H:%M:%S}Z;"
            " claim again",
            code="lease_expired",
            details={"lease_until": task.lease_until.isoformat() if task.lease_until else None},
        )


def heartbeat(session: Session, *, run: Run, task_id: int, user_id: int) -> ReviewTask:
    now = datetime.now(UTC)
    task = _locked(session, run=run, task_id=task_id)
    _check_lease(task, user_id, now)
    task.lease_until = now + timedelta(seconds=lease_s_of(run))
    return task


def decide(session: Session, *, run: Run, task_id: int, user_id: int, body: DecisionIn) -> Review:
    now = datetime.now(UTC)
    task = _locked(session, run=run, task_id=task_id)
    _check_lease(task, user_id, now)
    before = after = None
    if body.decision == "edit":
        if body.content is None and body.reasoning is None:
            from backend.core.errors import Invalid

            raise Invalid("an edit needs content or reasoning", code="empty_edit")
        g = session.get(Generation, task.generation_id)
        before = {"content": g.content, "reasoning": g.reasoning}
        after = {
            "content": body.content if body.content is not None else g.content,
            "reasoning": body.reasoning if body.reasoning is not None else g.reasoning,
        }
    review = Review(
        run_id=run.id,
        task_id=task.id,
        generation_id=task.generation_id,
        reviewer_id=user_id,
        decision=body.decision,
        before=before,
        after=after,
        note=body.note,
        created_at=now,
    )
    session.add(review)
    if body.decision == "skip":
        task.state, task.reviewer_id, task.lease_until = OPEN, None, None
        task.priority += SKIP_PENALTY
    else:
        task.state, task.lease_until = DONE, None
        upsert_labels(
            session,
            [
                {
                    "project_id": run.project_id,
                    "generation_id": task.generation_id,
                    "user_id": user_id,
                    "accepted": body.decision == "accept",
                    "source": "review",
                }
            ],
        )
    session.flush()
    finish_if_drained(session, run=run)
    return review


def undo(session: Session, *, run: Run, user_id: int) -> ReviewTask:
    """Take back one's own last standing decision; its item is leased back to the same reviewer."""
    last = session.scalar(
        select(Review)
        .where(
            Review.run_id == run.id,
            Review.reviewer_id == user_id,
            Review.undone.is_(False),
            Review.decision != "undo",
        )
        .order_by(Review.id.desc())
        .limit(1)
        .with_for_update()
    )
    if last is None:
        raise Conflict("you have no decision in this run to undo", code="nothing_to_undo")
    stage = review_stage(session, run=run)
    if stage is None or stage.status.finished:
        raise Conflict("the review stage has finished; its decisions stand", code="review_finished")
    task = _locked(session, run=run, task_id=last.task_id)
    now = datetime.now(UTC)
    live = task.state == LEASED and task.lease_until is not None and task.lease_until >= now
    if live and task.reviewer_id != user_id or task.state == CLOSED:
        raise Conflict("another reviewer holds this item now; your decision stands", code="foreign_lease")
    last.undone = True
    session.add(
        Review(
            run_id=run.id,
            task_id=task.id,
            generation_id=task.generation_id,
            reviewer_id=user_id,
            decision="undo",
            after={"undid": last.id},
            created_at=now,
        )
    )
    if last.decision == "skip":
        task.priority -= SKIP_PENALTY
    else:
        session.execute(
            HumanLabel.__table__.delete().where(
                HumanLabel.generation_id == task.generation_id,
                HumanLabel.user_id == user_id,
                HumanLabel.source == "review",
            )
        )
    task.state, task.reviewer_id = LEASED, user_id
    task.lease_until = now + timedelta(seconds=lease_s_of(run))
    return task


def close(session: Session, *, run: Run) -> int:
    """A maintainer ends the review: undecided slots are closed and the next stages go on."""
    stage = review_stage(session, run=run)
    if stage is None or stage.status.finished:
        raise Conflict("this run has no review stage waiting", code="no_review_waiting")
    n = session.execute(
        update(ReviewTask)
        .where(ReviewTask.run_id == run.id, ReviewTask.state.in_([OPEN, LEASED]))
        .values(state=CLOSED, lease_until=None)
    ).rowcount
    session.flush()
    finish_if_drained(session, run=run, closed=True)
    return n


LEFT_CAP = 10_000


def left(session: Session, *, run_id: int) -> int:
    """Slots still open or leased, counted up to LEFT_CAP (a claim must not scan a million rows)."""
    ids = select(ReviewTask.id).where(ReviewTask.run_id == run_id, ReviewTask.state.in_([OPEN, LEASED]))
    return session.scalar(select(func.count()).select_from(ids.limit(LEFT_CAP).subquery()))
