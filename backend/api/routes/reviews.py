"""The human review queue of a run: claim, heartbeat, decide, undo, close; its state, agreement and
audit log. Reviewers and up decide; viewers read; strangers get 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlalchemy import func, select

from backend.api.deps import Maintainer, Reviewer, SessionDep, Viewer
from backend.jobs.service import submit_job
from backend.reviews import progress, queue
from backend.reviews.agreement import agreement
from backend.reviews.items import item_out
from backend.reviews.models import Review
from backend.reviews.schemas import ClaimOut, DecisionIn, DecisionOut, ItemOut, QueueOut
from backend.reviews.summary import review_stage, slot_counts
from backend.runs.service import get_run

router = APIRouter(prefix="/projects/{project_id}/runs/{run_id}/review", tags=["reviews"])
RunId = Annotated[int, Path(ge=1, le=2**31 - 1)]
TaskId = Annotated[int, Path(ge=1, le=2**62)]


@router.post("/claim", operation_id="claimReviewItem")
def claim(session: SessionDep, access: Reviewer, run_id: RunId) -> ClaimOut:
    """The next item for you, with a lease (renew it with heartbeat); your own live item if you hold one."""
    run = queue.review_run(session, project_id=access.project.id, run_id=run_id)
    task = queue.claim_next(session, run=run, user_id=access.user.id)
    return ClaimOut(
        item=item_out(session, task, run) if task else None, left=progress.left(session, run_id=run.id)
    )


@router.post("/items/{task_id}/heartbeat", operation_id="heartbeatReviewItem")
def heartbeat(session: SessionDep, access: Reviewer, run_id: RunId, task_id: TaskId) -> ItemOut:
    run = get_run(session, project=access.project, run_id=run_id)
    return item_out(session, queue.heartbeat(session, run=run, task_id=task_id, user_id=access.user.id), run)


@router.post("/items/{task_id}/decision", operation_id="decideReviewItem")
def decide(
    session: SessionDep, access: Reviewer, run_id: RunId, task_id: TaskId, body: DecisionIn
) -> DecisionOut:
    """accept, reject, edit (the new text beside the original) or skip (back in the queue). 409 when
    the lease expired or is someone else's."""
    run = queue.RunRef(id=run_id, project_id=access.project.id)  # decide checks it in its own statement
    review = queue.decide(session, run=run, task_id=task_id, user_id=access.user.id, body=body)
    if ((review.after or {}).get("verdict") or {}).get("status") == "pending":
        # the run's verifiers check the edited text in a worker (code runs in the sandbox)
        submit_job(
            session,
            project=access.project,
            kind="edit_verify",
            params={"review_id": review.id},
            user_id=access.user.id,
        )
    return DecisionOut.model_validate(review)


@router.post("/undo", operation_id="undoReviewDecision")
def undo(session: SessionDep, access: Reviewer, run_id: RunId) -> ItemOut:
    """Take back your last decision in this run; its item is yours again."""
    run = get_run(session, project=access.project, run_id=run_id)
    return item_out(session, queue.undo(session, run=run, user_id=access.user.id), run)


@router.post("/close", operation_id="closeReview")
def close(session: SessionDep, access: Maintainer, run_id: RunId) -> dict[str, int]:
    """End the review now: undecided items are closed and the run goes on to its next stage."""
    run = get_run(session, project=access.project, run_id=run_id)
    return {"closed": queue.close(session, run=run)}


@router.get("", operation_id="getReviewQueue")
def state(session: SessionDep, access: Viewer, run_id: RunId) -> QueueOut:
    """Slots by state and reason, agreement on the overlap items (kappa per pair, alpha), per reviewer."""
    run = get_run(session, project=access.project, run_id=run_id)
    states = slot_counts(session, run_id=run.id, by="state")
    # attempts, as the stage's summary counts them; the slots (two per overlap item) beside them
    reasons = slot_counts(session, run_id=run.id, by="reason", generations=True)
    slots = slot_counts(session, run_id=run.id, by="reason")
    decided = dict(
        session.execute(
            select(Review.reviewer_id, func.count())
            .where(
                Review.run_id == run.id,
                Review.undone.is_(False),
                Review.decision.in_(["accept", "reject", "edit"]),
            )
            .group_by(Review.reviewer_id)
        )
        .tuples()
        .all()
    )
    agree = agreement(session, run_id=run.id)
    stage = review_stage(session, run=run)
    reviewers = [
        {
            "reviewer_id": u,
            "decided": n,
            "overlap_items": agree["per_reviewer"].get(u, (0, None))[0],
            "agreement": agree["per_reviewer"].get(u, (0, None))[1],
        }
        for u, n in decided.items()
        if u
    ]
    return QueueOut(
        run_id=run.id,
        stage_status=stage.status.value if stage else None,
        states=states,
        by_reason=reasons,
        slots_by_reason=slots,
        pairs=agree["pairs"],
        alpha=agree["alpha"],
        reviewers=reviewers,
    )


@router.get("/log", operation_id="reviewLog")
def log(
    session: SessionDep,
    access: Viewer,
    run_id: RunId,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    generation_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> list[DecisionOut]:
    """The audit log: every decision, undo included, oldest first, a page after id `after`; only one
    attempt's with `generation_id` (the trace view's edits). An edit's `after.verdict` is the run's
    verifiers' verdict on the edited text (pending until the edit_verify job ran)."""
    run = get_run(session, project=access.project, run_id=run_id)
    where = [Review.run_id == run.id, Review.id > after]
    if generation_id is not None:
        where.append(Review.generation_id == generation_id)
    rows = session.scalars(select(Review).where(*where).order_by(Review.id).limit(limit))
    return [DecisionOut.model_validate(r) for r in rows]
