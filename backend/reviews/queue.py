"""The review queue: claim-next with a lease (SELECT ... FOR UPDATE SKIP LOCKED), heartbeat, decide,
undo one's own last decision, close; the run's review stage completes here once nothing is left.

A decision on a lease that ran out or is someone else's answers 409 with what happened. Slots of one
generation (the overlap share) never go to the same reviewer twice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Row, bindparam, exists, func, insert, select, text, update
from sqlalchemy.orm import Session

from backend.core.errors import Conflict, Invalid, NotFound
from backend.datasets.admission import explain, refusal
from backend.judge.labels import upsert_labels
from backend.reviews import edits, progress
from backend.reviews.models import CLOSED, DONE, LEASED, OPEN, HumanLabel, Review, ReviewTask
from backend.reviews.schemas import DecisionIn
from backend.reviews.summary import finish_if_drained, review_stage
from backend.runs.models import Run
from backend.samples.models import Generation

SKIP_PENALTY = 100  # a skipped item goes behind every fresh one

# Claim and decide are the hot path (20 reviewers on a million items): each is a few statements built
# once here, executed on the session's connection without loading ORM objects.
_T = ReviewTask.__table__
_R = Review.__table__
_mine = _T.alias("mine")
_cand = _T.alias("cand")

# This reviewer's live item, else a slot whose lease ran out, else the first open slot in (priority,
# id) order, read from the partial index of open slots; rows other reviewers are claiming this
# instant are skipped (SKIP LOCKED), and so is the other slot of an overlap item this reviewer already
# has. One statement: PostgreSQL runs a sub-select only when the ones before it found nothing. The
# twin check's OFFSET 0 keeps it a lookup per candidate (index on generation_id, reviewer_id):
# unnested into an anti-join, PostgreSQL may plan a scan of every slot the reviewer ever decided.
# A lapsed lease was the head of the queue when it was claimed, so it goes out again first.
_mine_q = (
    select(_mine.c.id)
    .where(
        _mine.c.run_id == bindparam("run"),
        _mine.c.state == LEASED,
        _mine.c.reviewer_id == bindparam("user"),
        _mine.c.lease_until >= bindparam("now"),
    )
    .limit(1)
    .with_for_update()
    .scalar_subquery()
)


def _free(t, *where):
    """The first slot of `t` (an alias of review_tasks) matching `where`, not a twin of one of the
    reviewer's, locked for this transaction."""
    twin = _T.alias(f"{t.name}_twin")
    return (
        select(t.c.id)
        .where(
            t.c.run_id == bindparam("run"),
            *where,
            ~exists(
                select(twin.c.id)
                .where(
                    twin.c.generation_id == t.c.generation_id,
                    twin.c.reviewer_id == bindparam("user"),
                    twin.c.id != t.c.id,
                )
                .offset(0)
            ),
        )
        .order_by(t.c.priority, t.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )


_lapsed = _T.alias("lapsed")
_lapsed_q = _free(_lapsed, _lapsed.c.state == LEASED, _lapsed.c.lease_until < bindparam("now"))
_next_q = _free(_cand, _cand.c.state == OPEN)
_CLAIM = (
    update(_T)
    .where(_T.c.id == func.coalesce(_mine_q, _lapsed_q, _next_q))
    .values(state=LEASED, reviewer_id=bindparam("user"), lease_until=bindparam("until"))
    .returning(*_T.c)
)

# A decision on a live lease of this reviewer: one statement checks the lease and settles the slot.
_live = (
    _T.c.id == bindparam("task"),
    _T.c.run_id == bindparam("run"),
    _T.c.state == LEASED,
    _T.c.reviewer_id == bindparam("user"),
    _T.c.lease_until >= bindparam("now"),
)
_SETTLE = update(_T).where(*_live).values(state=DONE, lease_until=None).returning(_T.c.generation_id)
_SKIP = (
    update(_T)
    .where(*_live)
    .values(state=OPEN, reviewer_id=None, lease_until=None, priority=_T.c.priority + SKIP_PENALTY)
    .returning(_T.c.generation_id)
)
_AUDIT = insert(_R).returning(*_R.c)

# On PostgreSQL an accept, reject or skip is one round trip: the slot, the audit row, the human label
# and the reviewer's count in one statement of data-modifying CTEs (each part runs only if the lease
# check matched), plus whether any slot is still open (the stage's completion check). The same steps,
# one statement each, run on SQLite and for edits.
_PG_DECIDE = """
WITH t AS (
    UPDATE review_tasks SET {set}
    WHERE id = :task AND run_id = :run AND state = 'leased' AND reviewer_id = :user AND lease_until >= :now
      AND EXISTS (SELECT 1 FROM runs WHERE runs.id = :run AND runs.project_id = :project)
    RETURNING id, generation_id
), a AS (
    INSERT INTO reviews (run_id, task_id, generation_id, reviewer_id, decision, note, undone, created_at)
    SELECT :run, t.id, t.generation_id, :user, :decision, :note, false, :now FROM t
    RETURNING *
){settled}
SELECT a.*, EXISTS (SELECT 1 FROM review_tasks WHERE run_id = :run AND state = 'open') AS open_left FROM a
"""
_PG_SETTLED = """, l AS (
    INSERT INTO human_labels (project_id, generation_id, user_id, accepted, source, created_at)
    SELECT :project, t.generation_id, :user, :accepted, 'review', :now FROM t
    ON CONFLICT (generation_id, user_id, source) DO UPDATE SET accepted = excluded.accepted
), c AS (
    INSERT INTO review_counts (run_id, reviewer_id, decided) SELECT :run, :user, 1 FROM t
    ON CONFLICT (run_id, reviewer_id) DO UPDATE SET decided = review_counts.decided + 1
)"""
_PG_SETTLE = text(_PG_DECIDE.format(set="state = 'done', lease_until = NULL", settled=_PG_SETTLED))
_PG_SKIP = text(
    _PG_DECIDE.format(
        set=f"state = 'open', reviewer_id = NULL, lease_until = NULL, priority = priority + {SKIP_PENALTY}",
        settled="",
    )
)


_RUN = select(Run.id, Run.project_id, Run.recipe).where(
    Run.id == bindparam("run"), Run.project_id == bindparam("project")
)


def review_run(session: Session, *, project_id: int, run_id: int) -> Row[Any]:
    """What claim and decide need of a run (id, project_id, recipe) as a row, or 404: lighter than
    loading the Run, whose summary carries every stage's metrics."""
    run = session.connection().execute(_RUN, {"run": run_id, "project": project_id}).first()
    if run is None:
        raise NotFound(f"run {run_id} not found")
    return run


def lease_s_of(run: Any) -> int:
    return int(((run.recipe or {}).get("review") or {}).get("lease_s", 600))


def claim_next(session: Session, *, run: Any, user_id: int) -> Row[Any] | None:
    """This reviewer's live item (its lease renewed), else a lapsed lease, else the first open slot,
    skipping rows other reviewers are claiming this instant. A row of review_tasks, or None when
    nothing is left for this reviewer."""
    now = datetime.now(UTC)
    p = {"run": run.id, "user": user_id, "now": now, "until": now + timedelta(seconds=lease_s_of(run))}
    return session.connection().execute(_CLAIM, p).first()


def _locked(session: Session, *, run: Any, task_id: int | None) -> ReviewTask:
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


class RunRef(NamedTuple):
    """A run named by the caller (path ids), not yet checked to exist in that project."""

    id: int
    project_id: int


def decide(session: Session, *, run: Any, task_id: int, user_id: int, body: DecisionIn) -> Row[Any]:
    """Settle one's leased slot (accept, reject, edit) or put it back (skip); the audit row comes back.
    `run`: the Run, a review_run row or a RunRef. On PostgreSQL the one statement matches only a slot
    of that run in that project, so a RunRef needs no lookup first; a miss is told apart afterwards
    (404 for the run or the item, 409 for the lease)."""
    if body.decision == "edit" and body.content is None and body.reasoning is None:
        raise Invalid("an edit needs content or reasoning", code="empty_edit")
    if body.admit_if_rejected and (body.decision != "edit" or not body.note.strip()):
        raise Invalid(
            "admit_if_rejected: only an edit may override the verifiers, and its note must say why",
            code="override_needs_note",
        )
    now = datetime.now(UTC)
    conn = session.connection()
    p = {"task": task_id, "run": run.id, "user": user_id, "now": now}
    original = _admit_check(session, run_id=run.id, task_id=task_id, body=body)
    if body.decision != "edit" and conn.dialect.name == "postgresql":
        return _decide_pg(session, run=run, body=body, params=p)
    run = review_run(session, project_id=run.project_id, run_id=run.id)
    settled = conn.execute(_SKIP if body.decision == "skip" else _SETTLE, p).first()
    if settled is None:  # not a live lease of this reviewer: say what happened
        _check_lease(_locked(session, run=run, task_id=task_id), user_id, now)
        raise Conflict(f"review item {task_id} changed meanwhile; claim again", code="not_leased")
    gid = settled.generation_id
    before = after = None
    if body.decision == "edit" and original is not None:
        before, after = original.before, original.after
        if (combo := edits.verifiers_of(run.recipe)) is not None and combo.verifiers:
            after["verdict"] = dict(edits.PENDING)  # the route queues the edit_verify job
        if body.admit_if_rejected:
            after["override"] = True
    review = conn.execute(
        _AUDIT,
        {
            "run_id": run.id,
            "task_id": task_id,
            "generation_id": gid,
            "reviewer_id": user_id,
            "decision": body.decision,
            "before": before,
            "after": after,
            "note": body.note,
            "undone": False,
            "created_at": now,
        },
    ).one()
    if body.decision != "skip":
        upsert_labels(
            session,
            [
                {
                    "project_id": run.project_id,
                    "generation_id": gid,
                    "user_id": user_id,
                    "accepted": body.decision == "accept",
                    "source": "review",
                }
            ],
        )
        progress.count(session, run_id=run.id, reviewer_id=user_id, delta=1)
    if not finish_if_drained(session, run=run):
        progress.write(session, run_id=run.id, now=now)
    return review


class _Original(NamedTuple):
    before: dict[str, Any]
    after: dict[str, Any]


def _admit_check(session: Session, *, run_id: int, task_id: int, body: DecisionIn) -> _Original | None:
    """An accept or an edit of an attempt the admission rules refuse (backend/datasets/admission.py:
    cut at max_tokens, empty, reasoning with no answer) is a 422 that changes nothing: no person admits
    what training would refuse. For an edit, the text before and after it. None for reject and skip,
    and where the slot is not this run's (the decision then says what happened)."""
    if body.decision not in ("accept", "edit"):
        return None
    row = session.execute(
        select(Generation.id, Generation.content, Generation.reasoning, Generation.finish_reason)
        .join(ReviewTask, ReviewTask.generation_id == Generation.id)
        .where(ReviewTask.id == task_id, ReviewTask.run_id == run_id)
    ).first()
    if row is None:
        return None
    gid, content, reasoning, finish = row
    before = {"content": content, "reasoning": reasoning}
    after = {
        "content": body.content if body.content is not None else content,
        "reasoning": body.reasoning if body.reasoning is not None else reasoning,
    }
    text = after if body.decision == "edit" else before
    if why := refusal(reasoning=text["reasoning"], content=text["content"], finish_reason=finish):
        edited = " (checked on the edited text)" if body.decision == "edit" and why != "truncated" else ""
        raise Invalid(
            f"{body.decision} refused: {explain(why, gid)}{edited}; reject it instead",
            code="not_admissible",
            details={"reason": why, "generation_id": gid},
        )
    return _Original(before, after)


def _decide_pg(session: Session, *, run: Any, body: DecisionIn, params: dict[str, Any]) -> Row[Any]:
    p = {
        **params,
        "project": run.project_id,
        "decision": body.decision,
        "note": body.note,
        "accepted": body.decision == "accept",
    }
    review = session.connection().execute(_PG_SKIP if body.decision == "skip" else _PG_SETTLE, p).first()
    if review is None:  # not a live lease of this reviewer in this project's run: say what happened
        review_run(session, project_id=run.project_id, run_id=run.id)
        _check_lease(_locked(session, run=run, task_id=p["task"]), p["user"], p["now"])
        raise Conflict(f"review item {p['task']} changed meanwhile; claim again", code="not_leased")
    if review.open_left or not finish_if_drained(session, run=run):
        progress.write(session, run_id=run.id, now=p["now"])
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
        progress.count(session, run_id=run.id, reviewer_id=user_id, delta=-1)
        session.execute(
            HumanLabel.__table__.delete().where(
                HumanLabel.generation_id == task.generation_id,
                HumanLabel.user_id == user_id,
                HumanLabel.source == "review",
            )
        )
    task.state, task.reviewer_id = LEASED, user_id
    task.lease_until = now + timedelta(seconds=lease_s_of(run))
    session.flush()
    progress.write(session, run_id=run.id, now=now)
    return task


def close_slots(session: Session, *, run_id: int) -> int:
    """Close every undecided slot of a run (a decision on one then answers 409); how many were closed.
    The UPDATE waits for decisions in flight on those slots, which lock them first."""
    # an UPDATE's result is a CursorResult (it has rowcount); Session.execute is typed as any Result
    return session.execute(  # type: ignore[attr-defined]
        update(ReviewTask)
        .where(ReviewTask.run_id == run_id, ReviewTask.state.in_([OPEN, LEASED]))
        .values(state=CLOSED, lease_until=None)
    ).rowcount


def close(session: Session, *, run: Run) -> int:
    """A maintainer ends the review: undecided slots are closed and the next stages go on."""
    stage = review_stage(session, run=run)
    if stage is None or stage.status.finished:
        raise Conflict("this run has no review stage waiting", code="no_review_waiting")
    n = close_slots(session, run_id=run.id)
    session.flush()
    finish_if_drained(session, run=run, closed=True)
    return n
