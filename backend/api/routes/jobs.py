from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from backend.api.deps import Maintainer, SessionDep, Viewer
from backend.core.ids import PathId
from backend.core.pagination import Page
from backend.jobs import service
from backend.jobs.schemas import JobOut

router = APIRouter(prefix="/projects/{project_id}/jobs", tags=["jobs"])
JobId = PathId


@router.get("", operation_id="listJobs")
def list_jobs(
    session: SessionDep,
    access: Viewer,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> Page[JobOut]:
    """Imports and other long operations, newest first."""
    rows, nxt = service.list_jobs(session, project=access.project, limit=limit, cursor=cursor)
    return Page[JobOut](items=[JobOut.model_validate(j) for j in rows], next_cursor=nxt)


@router.get("/{job_id}", operation_id="getJob")
def get_job(session: SessionDep, access: Viewer, job_id: JobId) -> JobOut:
    """A long operation's status, progress, result or error."""
    return JobOut.model_validate(service.get_job(session, project=access.project, job_id=job_id))


@router.post("/{job_id}/cancel", operation_id="cancelJob", status_code=status.HTTP_202_ACCEPTED)
def cancel_job(session: SessionDep, access: Maintainer, job_id: JobId) -> JobOut:
    job = service.cancel_job(session, job=service.get_job(session, project=access.project, job_id=job_id))
    return JobOut.model_validate(job)
