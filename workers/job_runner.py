"""Runs a job (an import, a cleaning pass): running -> succeeded / failed / cancelled.

A user error (bad file, bad row) fails the job with the same {code, message, details} an API error
carries, and is not re-raised: retrying cannot fix the input. Anything else is stored, then re-raised.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from backend.core.db import session_scope
from backend.core.errors import AppError
from backend.jobs.models import Job
from backend.runs.models import Status
from workers.progress import Cancelled, ProgressReporter

log = logging.getLogger(__name__)


class JobContext(ProgressReporter):
    model = Job

    def __init__(self, job_id: int, project_id: int, params: dict[str, Any], user_id: int | None):
        super().__init__(job_id)
        self.job_id, self.project_id, self.params, self.user_id = job_id, project_id, params, user_id


JobFn = Callable[[JobContext], dict[str, Any]]


def _finish(job_id: int, status: Status, *, result=None, error=None) -> None:
    with session_scope() as s:
        job = s.get(Job, job_id)
        job.status, job.finished_at = status, datetime.now(UTC)
        if result is not None:
            job.result = result
        job.error = error


def run_job(job_id: int, task_id: str | None, fn: JobFn) -> dict[str, Any] | None:
    with session_scope() as s:
        job = s.get(Job, job_id)
        if job is None:
            log.warning("job %s does not exist; dropping task", job_id)
            return None
        if job.status.finished:
            log.info("job %s already %s; duplicate delivery ignored", job_id, job.status.value)
            return None
        if job.status == Status.cancelling:
            job.status, job.finished_at = Status.cancelled, datetime.now(UTC)
            return None
        job.status, job.started_at, job.task_id = Status.running, datetime.now(UTC), task_id or job.task_id
        ctx = JobContext(job.id, job.project_id, job.params, job.created_by)
    try:
        result = fn(ctx)
    except Cancelled:
        _finish(job_id, Status.cancelled)
        return None
    except AppError as exc:
        _finish(
            job_id,
            Status.failed,
            error={"code": exc.code, "message": exc.message, "fields": exc.fields, "details": exc.details},
        )
        log.info("job %s failed: %s", job_id, exc.message)
        return None
    except BaseException as exc:
        _finish(
            job_id,
            Status.failed,
            error={"code": "internal_error", "message": f"{type(exc).__name__}: {exc}"[:4000]},
        )
        log.exception("job %s failed", job_id)
        raise
    _finish(job_id, Status.succeeded, result=result)
    return result
