"""The transitions of runs, stages, chunks and jobs, and the run life cycle.

The allowed transitions are one table per entity; `move` is the only writer of `.status` and raises
IllegalTransition for anything else. The operations below (queue the next stage, claim, finish,
complete, cancel, re-queue) are the run life cycle; the API and the workers both call them, each
inside its own transaction. Sending a task goes through backend.core.queue, by registered name. A
job's operations (claim, finish, cancel, the janitor's check) live with jobs, in
backend/jobs/lifecycle.py, and go through `move` too.

Kept whole past 450 lines on purpose: the table of transitions and the run operations that make them
is what lets a reader check every run status change in one file; split by entity, a run's cancel
would reach into three modules.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.core import queue
from backend.core.config import get_settings
from backend.core.errors import Conflict
from backend.core.logging import error_text
from backend.jobs.models import Job
from backend.runs.models import Run, RunStage, StageChunk, Status
from backend.runs.stages import STAGES, stage_kind

log = logging.getLogger(__name__)
P, Q, R, S, F, CG, C = (
    Status.pending,
    Status.queued,
    Status.running,
    Status.succeeded,
    Status.failed,
    Status.cancelling,
    Status.cancelled,
)

# from -> the statuses it may move to. A status moving to itself is a no-op only where listed.
TRANSITIONS: dict[str, dict[Status, frozenset[Status]]] = {
    "run": {
        P: frozenset({Q, R, S, F, CG, C}),
        Q: frozenset({R, S, F, CG, C, P}),
        R: frozenset({R, S, F, CG, C, P}),
        CG: frozenset({CG, C, F, P}),
        F: frozenset({P}),  # re-queue
        C: frozenset({C, P}),
        S: frozenset(),
    },
    "stage": {
        P: frozenset({Q, R, C}),
        Q: frozenset({R, F, CG, C, P}),
        R: frozenset({R, S, F, CG, C, P}),  # R -> R: a task redelivered after its worker died
        CG: frozenset({CG, S, F, C, P}),  # CG -> S: it finished before it saw the cancel
        F: frozenset({P}),
        C: frozenset({C, P}),
        S: frozenset(),
    },
    "chunk": {
        P: frozenset({Q, R, C}),
        Q: frozenset({Q, R, C, P}),
        R: frozenset({Q, R, S, F, C, P}),  # R -> R: a stale chunk taken over by another task
        F: frozenset({Q, P}),
        C: frozenset({Q, C, P}),
        S: frozenset(),
        CG: frozenset(),
    },
    "job": {
        P: frozenset({Q}),
        Q: frozenset({R, C}),
        R: frozenset({R, S, F, CG, C}),
        CG: frozenset({S, F, C}),
        S: frozenset(),
        F: frozenset(),
        C: frozenset(),
    },
}
ENTITY = {Run: "run", RunStage: "stage", StageChunk: "chunk", Job: "job"}


class IllegalTransition(RuntimeError):
    """A status change the life cycle does not allow: a bug, never a user error."""


def move(row: Run | RunStage | StageChunk | Job, to: Status, *, now: datetime | None = None) -> None:
    """Change a row's status if the table allows it; stamps started_at / finished_at where it has them."""
    entity = ENTITY[type(row)]
    frm = row.status or (P if entity != "job" else Q)
    if to not in TRANSITIONS[entity][frm]:
        raise IllegalTransition(f"{entity} {row.id}: {frm.value} -> {to.value} is not allowed")
    now = now or datetime.now(UTC)
    if isinstance(row, RunStage) and frm in (R, CG) and row.started_at and (to == R or to not in (R, CG)):
        # The segment that ends here (a redelivery restarts the clock) is kept: elapsed time spans them all.
        row.elapsed_before_s = (row.elapsed_before_s or 0.0) + max((now - row.started_at).total_seconds(), 0)
    row.status = to
    if to == R and hasattr(row, "started_at") and (entity != "run" or row.started_at is None):
        row.started_at = now
    if hasattr(row, "finished_at"):
        row.finished_at = now if to.finished else None


def stages_of(session: Session, *, run: Run) -> list[RunStage]:
    """A run's stages in pipeline order."""
    stmt = select(RunStage).where(RunStage.run_id == run.id).order_by(RunStage.position)
    return list(session.scalars(stmt))


# ---- runs and stages ---------------------------------------------------------------------------


def enqueue_next_stage(session: Session, *, run: Run) -> RunStage | None:
    """Queue the first pending stage of a run; mark the run succeeded when none is left.

    Commits first: the worker must see the rows before its task arrives.
    """
    stage = next((s for s in stages_of(session, run=run) if s.status == P), None)
    if stage is None:
        move(run, S)
        session.commit()
        return None
    move(stage, Q)
    stage.heartbeat_at = datetime.now(UTC)  # for a queued stage: when its task was last sent
    if run.status == P:
        move(run, Q)
    session.commit()
    kind = stage_kind(stage.kind)
    stage.task_id = queue.send(kind.task, [stage.id], queue=kind.queue, time_limit_s=kind.time_limit_s)
    session.commit()
    log.info("queued stage %s (%s) of run %s as task %s", stage.id, stage.kind, run.id, stage.task_id)
    return stage


def claim_stage(session: Session, *, stage: RunStage, run: Run, task_id: str | None) -> bool:
    """Mark a stage running for this task; False when it must not run (cancelled, or already done)."""
    if CG in (stage.status, run.status) or C in (stage.status, run.status):
        finish_stage(session, stage=stage, run=run, status=C)
        return False
    if stage.status in (S, F):
        log.info("stage %s already %s; duplicate delivery ignored", stage.id, stage.status.value)
        return False
    if stage.status == R:
        # Another task's delivery (the spare message of a re-sent queued stage, or a re-queued run's
        # earlier task) takes over only a stage that lost its worker by the janitor's own test, which
        # also knows live chunks and stages that wait for people. A redelivery of the same task (acks
        # late) means its worker died.
        if task_id != stage.task_id and not stalled(session, stage=stage, now=datetime.now(UTC)):
            log.info(
                "stage %s runs as task %s; duplicate delivery %s ignored", stage.id, stage.task_id, task_id
            )
            return False
        if not note_worker_lost(session, stage=stage, run=run, how="its task was delivered again"):
            return False
    now = datetime.now(UTC)
    move(stage, R, now=now)
    stage.heartbeat_at, stage.error = now, None
    stage.task_id = task_id or stage.task_id
    move(run, R, now=now)
    return True


def finish_stage(
    session: Session, *, stage: RunStage, run: Run, status: Status, error: str | None = None
) -> None:
    """End a stage as succeeded, failed or cancelled; a failed or cancelled one ends its run too."""
    now = datetime.now(UTC)
    move(stage, status, now=now)
    # The sink every stage error passes: writers scrub already, this keeps a missed one (or a prefix
    # that pushed it past the bound) out of what every viewer of the project reads.
    error = error_text(error) if error else error
    stage.error = error
    if status in (F, C):
        move(run, status, now=now)
        run.error = error_text(f"stage {stage.kind}: {error}") if error else run.error
        _cancel_pending(session, run=run, now=now)
        _release(session, stage=stage)


def _release(session: Session, *, stage: RunStage) -> None:
    """What a stage that waits for people holds open for them (the review queue) is closed."""
    release = stage_kind(stage.kind).release
    if release is not None:
        release(session, stage.run_id)


def complete_stage(session: Session, *, stage: RunStage, run: Run, metrics: dict[str, Any]) -> None:
    """Store a finished stage's metrics (checked against its kind's summary model) on it and the run,
    then queue the next stage, or stop there when the user cancelled meanwhile."""
    metrics = stage_kind(stage.kind).summary.model_validate(metrics).model_dump(mode="json")
    stage.metrics = metrics
    stage.progress_done = max(stage.progress_done, stage.progress_total or 0)
    if C in (stage.status, run.status):
        # A stage that waits for people was cancelled at once (cancel_run) while its task finished.
        log.info("stage %s of run %s was cancelled meanwhile; its result is dropped", stage.id, run.id)
        return
    run.summary = {**(run.summary or {}), stage.kind: metrics}
    if CG in (stage.status, run.status):
        # Finished before it saw the cancel: the stage's result stands, the pipeline stops here.
        now = datetime.now(UTC)
        move(stage, S, now=now)
        move(run, C, now=now)
        _cancel_pending(session, run=run, now=now)
        return
    finish_stage(session, stage=stage, run=run, status=S)
    session.flush()
    enqueue_next_stage(session, run=run)


def _cancel_pending(session: Session, *, run: Run, now: datetime) -> None:
    for other in session.scalars(select(RunStage).where(RunStage.run_id == run.id, RunStage.status == P)):
        move(other, C, now=now)


def awaits_decision(stage: RunStage) -> bool:
    """A rollout stopped on its smoke sample below the floor (backend/rollouts/smoke.py): like a stage
    that waits for people, it has no worker that would see a cancel."""
    return ((stage.metrics or {}).get("smoke") or {}).get("decision") == "pending"


def _waits(stage: RunStage) -> bool:
    return stage_kind(stage.kind).waits_for_people or awaits_decision(stage)


def cancel_run(session: Session, *, run: Run) -> Run:
    """Cancel pending and queued stages now; a running stage stops at its next progress check. A stage
    that waits for people (review, or a rollout awaiting a decision on its smoke sample) has no worker
    to see the cancel: its queue is closed and it ends cancelled now, with its run."""
    if run.status.finished:
        raise Conflict(f"run {run.id} already {run.status.value}", code="run_finished")
    stages = stages_of(session, run=run)
    waiting = [st for st in stages if st.status in (R, CG) and _waits(st)]
    for stage in waiting:
        # First, before any stage row is locked: closing waits for decisions in flight, which lock
        # their slot, then the stage (to complete it).
        _release(session, stage=stage)
    if waiting:
        # Afresh and locked: a decision in flight may have completed the stage (and queued the next).
        # Only here: a run whose worker is busy locks its run and stage rows in its own order, and
        # taking both here as well deadlocked a plain cancel against a rollout's progress write.
        stages = list(
            session.scalars(
                select(RunStage)
                .where(RunStage.run_id == run.id)
                .order_by(RunStage.position)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        )
        session.refresh(run, with_for_update=True)
        if run.status.finished:
            raise Conflict(f"run {run.id} already {run.status.value}", code="run_finished")
    now = datetime.now(UTC)
    running = False
    revoke: list[str] = []
    for stage in stages:
        if stage.status in (P, Q):
            if stage.task_id:
                revoke.append(stage.task_id)
            move(stage, C, now=now)
        elif stage.status in (R, CG) and _waits(stage):
            move(stage, C, now=now)
        elif stage.status in (R, CG):
            move(stage, CG, now=now)
            running = True
    move(run, CG if running else C, now=now)
    session.commit()
    if revoke:
        queue.revoke(revoke)
    return run


def requeue_run(session: Session, *, run: Run, automatic: bool = False) -> Run:
    """Send a failed, cancelled or stalled run back to pending (the caller queues it); its stages
    then do only what is missing. A run whose worker still reports is refused. A manual re-queue
    (automatic False) starts each stage's count of lost workers again."""
    if run.status == S:
        raise Conflict(f"run {run.id} already succeeded", code="run_finished")
    now = datetime.now(UTC)
    stages = stages_of(session, run=run)
    if not run.status.finished and run.status != P:  # pending: nothing was ever sent
        _refuse_if_alive(session, run=run, stages=stages, now=now)
    for stage in stages:
        if stage.status != S:
            if stage.status != P:
                move(stage, P, now=now)
            stage.error, stage.task_id = None, None
            if not automatic:
                stage.workers_lost = 0
            for chunk in chunks_of(session, stage_id=stage.id):
                if chunk.status not in (S, P):
                    move(chunk, P)
                    chunk.error, chunk.task_id = None, None
    if run.status != P:
        move(run, P, now=now)
    run.error = None
    session.flush()
    return run


def _refuse_if_alive(session: Session, *, run: Run, stages: list[RunStage], now: datetime) -> None:
    stale = get_settings().stale_after_s
    beats = [s.heartbeat_at or s.started_at or s.created_at for s in stages if not s.status.finished]
    beats += [
        c.heartbeat_at
        for s in stages
        for c in chunks_of(session, stage_id=s.id)
        if c.status == R and c.heartbeat_at
    ]
    fresh = [b for b in beats if b and (now - b).total_seconds() < stale]
    if fresh:
        age = min((now - b).total_seconds() for b in fresh)
        raise Conflict(
            f"run {run.id} is {run.status.value} and its worker reported {age:.0f} s ago; "
            f"re-queue it once it is finished, or after {stale:.0f} s without a heartbeat",
            code="run_active",
        )


# ---- lost workers ------------------------------------------------------------------------------


def note_worker_lost(session: Session, *, stage: RunStage, run: Run, how: str) -> bool:
    """Count one lost worker on a stage. Past DISTILLERY_MAX_REQUEUES the stage and its run fail with
    the cause and False is returned; True: the stage may be tried again."""
    stage.workers_lost = (stage.workers_lost or 0) + 1
    limit = get_settings().max_requeues
    log.warning("stage %s (%s) of run %s lost its worker (%s): %d of %d re-tries",
                stage.id, stage.kind, run.id, how, stage.workers_lost, limit)  # fmt: skip
    if stage.workers_lost <= limit:
        return True
    error = f"worker lost {stage.workers_lost} times (DISTILLERY_MAX_REQUEUES={limit}); last: {how}"
    finish_stage(session, stage=stage, run=run, status=F, error=error)
    return False


def stalled(session: Session, *, stage: RunStage, now: datetime) -> bool:
    """Whether a running or cancelling stage has lost its worker: neither it nor any running chunk beat
    within DISTILLERY_STALE_AFTER_S, and it is not merely waiting for a free worker (chunks queued,
    none running) or for people (the review stage). A live task beats even while its body is silent
    (workers/keepalive.py). A stage that waits for people and is cancelling (left so by a release
    before cancel_run ended such stages at once) has nobody to end it: it counts as stalled."""
    if stage_kind(stage.kind).waits_for_people:
        return stage.status == CG
    stale = get_settings().stale_after_s
    chunks = chunks_of(session, stage_id=stage.id)
    running = [c for c in chunks if c.status == R]
    beats = [c.heartbeat_at for c in running] + [stage.heartbeat_at or stage.started_at or stage.created_at]
    if any(b is not None and (now - b).total_seconds() < stale for b in beats):
        return False
    if running:
        return True
    return not any(c.status in (P, Q) for c in chunks)


def requeue_stalled(session: Session, *, now: datetime | None = None) -> list[int]:
    """The janitor's check: every run whose active stage lost its worker is re-queued (its count of
    lost workers grows; past DISTILLERY_MAX_REQUEUES it fails with the cause instead), and a
    cancelling one whose worker is gone ends cancelled. Looks without locks first; a stage that
    seems stalled is locked (SKIP LOCKED, then its run, in the order a chunk's settle takes them)
    and checked again, so several workers running the check at once never act on a run twice and
    a live run's settle never waits on it. Commits per run; returns the ids of the runs acted on."""
    now = now or datetime.now(UTC)
    active = [R, CG]
    candidates = session.execute(
        select(RunStage.id, RunStage.run_id)
        .join(Run, Run.id == RunStage.run_id)
        .where(Run.status.in_(active), RunStage.status.in_(active))
        .order_by(RunStage.id)
    ).all()
    session.rollback()
    acted: list[int] = []
    for stage_id, run_id in candidates:
        stage = session.get(RunStage, stage_id)
        if stage is None or stage.status not in active or not stalled(session, stage=stage, now=now):
            session.rollback()
            continue
        session.expire_all()  # what follows reads the rows afresh, under the locks
        stage = session.scalar(
            select(RunStage)
            .where(RunStage.id == stage_id, RunStage.status.in_(active))
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        run = session.get(Run, run_id, with_for_update=True, populate_existing=True) if stage else None
        if (
            stage is None
            or run is None
            or run.status not in active
            or not stalled(session, stage=stage, now=now)
        ):
            session.rollback()  # another worker's check took it, or it came back to life
            continue
        try:
            _settle_stalled(session, run=run, stage=stage)
        except Exception:  # noqa: BLE001 - one bad run must not stop the check for the others
            session.rollback()
            log.exception("could not re-queue stalled run %s", run_id)
            continue
        acted.append(run_id)
    return acted


def _settle_stalled(session: Session, *, run: Run, stage: RunStage) -> None:
    """A stalled stage ends cancelled (the user asked), failed (too many lost workers) or re-queued."""
    if CG in (stage.status, run.status):
        for chunk in chunks_of(session, stage_id=stage.id):
            if chunk.status in (P, Q, R):
                move(chunk, C)
        finish_stage(session, stage=stage, run=run, status=C)
        session.commit()
        return
    how = f"no heartbeat for {get_settings().stale_after_s:g} s"
    if not note_worker_lost(session, stage=stage, run=run, how=how):
        session.commit()
        return
    requeue_run(session, run=run, automatic=True)
    enqueue_next_stage(session, run=run)  # commits
    log.warning("re-queued run %s: stage %s (%s) had %s", run.id, stage.id, stage.kind, how)


def resend_queued(session: Session, *, now: datetime | None = None) -> list[int]:
    """The janitor's check for work whose messages the broker lost (a crash, a flush): a stage queued
    longer than DISTILLERY_QUEUED_RESEND_AFTER_S with no worker taking it gets its task sent again, and
    a running fan-out stage whose chunks all wait queued, none running and nothing beating for as
    long, gets a task per queued chunk again. The stage's heartbeat_at is stamped at each send (for a
    queued stage: when its task was sent), which the bound counts from. Nothing tells a lost message
    from one still waiting for a free worker, so a spare copy must be harmless: whichever delivery
    comes first claims the stage (claim_stage) or the chunk (Fanout.claim), and the other finds it
    running and alive, or ended, and is dropped; the first message keeps its place in line. Rows are
    locked with SKIP LOCKED and stamped before the send, so checks running at once in several
    workers send one copy. Returns the ids of the stages whose tasks were sent again."""
    now = now or datetime.now(UTC)
    bound = get_settings().queued_resend_after_s
    cutoff = now - timedelta(seconds=bound)
    chunk = select(StageChunk.id).where(StageChunk.stage_id == RunStage.id)
    fanout = [k.name for k in STAGES.values() if k.fanout]
    waiting = (
        select(RunStage)
        .join(Run, Run.id == RunStage.run_id)
        .where(func.coalesce(RunStage.heartbeat_at, RunStage.created_at) < cutoff)
        .where(
            (RunStage.status == Q) & Run.status.in_([Q, R])
            | (RunStage.status == R)
            & (Run.status == R)
            & RunStage.kind.in_(fanout)
            & chunk.where(StageChunk.status == Q).exists()
            & ~chunk.where((StageChunk.status == R) | (StageChunk.heartbeat_at >= cutoff)).exists()
        )
        .order_by(RunStage.id)
        .with_for_update(of=RunStage, skip_locked=True)
    )
    sends: list[tuple[str, list, str, int | None]] = []
    for stage in session.scalars(waiting).all():
        kind = stage_kind(stage.kind)
        stage.heartbeat_at = now
        if stage.status == Q:
            sends.append((kind.task, [stage.id], kind.queue, kind.time_limit_s))
            what = "its task"
        elif (chunk_task := kind.chunk_task) is not None:  # a running one is a fan-out's (`waiting`)
            run = session.get_one(Run, stage.run_id)
            to = kind.chunk_queue(session, run) if kind.chunk_queue else kind.queue
            todo = [c.id for c in chunks_of(session, stage_id=stage.id) if c.status == Q]
            sends += [(chunk_task, [stage.id, c], to, None) for c in todo]
            what = f"{len(todo)} chunk tasks"
        log.warning("stage %s (%s) of run %s waited %g s with no worker taking it: sending %s again",
                    stage.id, stage.kind, stage.run_id, bound, what)  # fmt: skip
    stages = sorted({args[0] for _, args, _, _ in sends})
    session.commit()
    for task, args, to, limit in sends:
        queue.send(task, args, queue=to, time_limit_s=limit)
    return stages


# ---- chunks ------------------------------------------------------------------------------------


def chunks_of(session: Session, *, stage_id: int) -> list[StageChunk]:
    """A stage's chunks in index order."""
    stmt = select(StageChunk).where(StageChunk.stage_id == stage_id).order_by(StageChunk.index)
    return list(session.scalars(stmt))


def claim_chunk(session: Session, *, chunk: StageChunk, task_id: str | None, now: datetime) -> None:
    move(chunk, R, now=now)
    chunk.task_id, chunk.heartbeat_at, chunk.error = task_id, now, None


def settle_chunk(session: Session, *, chunk: StageChunk, status: Status, error: str | None) -> None:
    move(chunk, status)
    chunk.error, chunk.heartbeat_at = (error_text(error) if error else error), datetime.now(UTC)


def queue_chunks(session: Session, *, stage_id: int) -> list[int]:
    """Mark every unfinished chunk of a stage queued; returns their ids in index order."""
    todo = [c for c in chunks_of(session, stage_id=stage_id) if c.status != S]
    for c in todo:
        move(c, Q)
    return [c.id for c in todo]


def cancel_waiting_chunk(session: Session, *, chunk: StageChunk) -> None:
    if chunk.status in (Q, P):
        move(chunk, C)
