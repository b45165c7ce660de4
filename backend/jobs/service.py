"""Create, queue and read jobs (cancel_job is in backend/jobs/lifecycle.py, with the other status changes)."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core import queue
from backend.core.errors import NotFound
from backend.core.pagination import keyset
from backend.jobs.kinds import JOBS
from backend.jobs.lifecycle import cancel_job
from backend.jobs.models import Job
from backend.projects.models import Project
from backend.runs.models import Status

log = logging.getLogger(__name__)
__all__ = ["cancel_job", "get_job", "list_jobs", "submit_job"]


def submit_job(
    session: Session,
    *,
    project: Project,
    kind: str,
    params: dict[str, Any],
    user_id: int | None,
    queue_name: str | None = None,
) -> Job:
    """Store a job and queue its task (on queue_name, else its kind's queue); commits first so the
    worker sees the row before the message."""
    spec = JOBS[kind]
    job = Job(project_id=project.id, kind=kind, params=params, created_by=user_id, status=Status.queued)
    session.add(job)
    session.commit()
    job.task_id = queue.send(
        spec.task, [job.id], queue=queue_name or spec.queue, time_limit_s=spec.time_limit_s
    )
    session.commit()
    log.info("queued %s job %s", kind, job.id)
    return job


def get_job(session: Session, *, project: Project, job_id: int) -> Job:
    """A job of this project, or 404."""
    job = session.get(Job, job_id)
    if job is None or job.project_id != project.id:
        raise NotFound(f"job {job_id} not found")
    return job


def list_jobs(
    session: Session, *, project: Project, limit: int, cursor: str | None
) -> tuple[list[Job], str | None]:
    """A page of jobs, newest first."""
    rows, nxt = keyset(
        session, select(Job).where(Job.project_id == project.id), Job.id, limit=limit, cursor=cursor
    )
    return list(rows), nxt
