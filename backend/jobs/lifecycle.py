"""A job's life cycle: claim, finish, cancel, and the janitor's check for jobs whose worker was lost.
Every status change goes through backend.runs.lifecycle.move and its transition table."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.core.config import get_settings
from backend.core.errors import Conflict
from backend.jobs import uploads
from backend.jobs.models import Job
from backend.runs.lifecycle import move
from backend.runs.models import Status

log = logging.getLogger(__name__)
R, F, CG, C = Status.running, Status.failed, Status.cancelling, Status.cancelled


def claim_job(session: Session, *, job: Job, task_id: str | None) -> bool:
    """Mark a job running for this task; False when it must not run (cancelled or already done)."""
    if job.status.finished:
        log.info("job %s already %s; duplicate delivery ignored", job.id, job.status.value)
        return False
    if job.status == CG:
        move(job, C)
        uploads.discard(job)
        return False
    move(job, R)
    job.task_id = task_id or job.task_id
    return True


def finish_job(
    session: Session, *, job: Job, status: Status, result: dict | None = None, error: dict | None = None
) -> None:
    move(job, status)
    if result is not None:
        job.result = result
    job.error = error
    uploads.discard(job)  # the body removes it itself; this covers one that never ran


def fail_lost_jobs(session: Session, *, now: datetime | None = None) -> list[int]:
    """The janitor's check for jobs: a running job whose heartbeat is older than
    DISTILLERY_STALE_AFTER_S lost its worker and fails with code worker_lost (its upload removed); a
    cancelling one ends cancelled. Not on SQLite, where a long import holds the only write lock and
    its beats cannot land. Jobs are not re-queued: they are cheap to submit again."""
    if session.get_bind().dialect.name == "sqlite":
        return []
    now = now or datetime.now(UTC)
    stale = get_settings().stale_after_s
    cutoff = now - timedelta(seconds=stale)
    beat = func.coalesce(Job.heartbeat_at, Job.started_at, Job.created_at)
    stmt = select(Job).where(Job.status.in_([R, CG]), beat < cutoff).order_by(Job.id)
    failed: list[int] = []
    for job in session.scalars(stmt.with_for_update(skip_locked=True)).all():
        if job.status == CG:
            move(job, C)
            uploads.discard(job)
        else:
            message = f"the worker running this job was lost (no heartbeat for {stale:g} s); submit it again"
            finish_job(session, job=job, status=F, error={"code": "worker_lost", "message": message})
        failed.append(job.id)
    session.commit()
    return failed


def cancel_job(session: Session, *, job: Job) -> Job:
    """A queued job never starts; a running one stops at its next progress write."""
    if job.status.finished:
        raise Conflict(f"job {job.id} already {job.status.value}", code="job_finished")
    move(job, CG if job.status == R else C)
    if job.status == C:  # it never started, so no body will remove its upload
        uploads.discard(job)
    return job
