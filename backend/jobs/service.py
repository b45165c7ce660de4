"""Create, queue, read and cancel jobs."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core.errors import Conflict, NotFound
from backend.core.pagination import keyset
from backend.jobs.models import Job
from backend.projects.models import Project
from backend.runs.models import Status

log = logging.getLogger(__name__)

# kind -> (Celery task name, queue)
JOB_TASKS = {
    "prompt_import": ("distillery.prompts.import", "cpu"),
    "prompt_derive": ("distillery.prompts.derive", "cpu"),
    "prompt_synthesize": ("distillery.prompts.synthesize", "cpu"),  # waits on a remote teacher, not a GPU
}


def submit_job(
    session: Session, *, project: Project, kind: str, params: dict[str, Any], user_id: int | None
) -> Job:
    """Store a job and queue its task; commits first so the worker sees the row before the message."""
    from workers.celery_app import celery_app

    task, queue = JOB_TASKS[kind]
    job = Job(project_id=project.id, kind=kind, params=params, created_by=user_id, status=Status.queued)
    session.add(job)
    session.commit()
    job.task_id = celery_app.send_task(task, args=[job.id], queue=queue).id
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


def cancel_job(session: Session, *, job: Job) -> Job:
    """A queued job never starts; a running one stops at its next progress write."""
    if job.status.finished:
        raise Conflict(f"job {job.id} already {job.status.value}", code="job_finished")
    if job.status == Status.running:
        job.status = Status.cancelling
    else:
        job.status, job.finished_at = Status.cancelled, datetime.now(UTC)
    return job
