"""Queueing a teacher's speed probe, for the route and the CLI alike (the job itself is
workers/jobs/teacher_probe.py). Apart from service.py, which the run and training modules import and
which must not import the job service."""

from __future__ import annotations

from sqlalchemy.orm import Session

from backend.jobs.models import Job
from backend.jobs.service import submit_job
from backend.projects.models import Project
from backend.teachers.models import Teacher
from backend.teachers.schemas import runs_locally


def probe_queue(teacher: Teacher) -> str:
    """Where the teacher's probe runs: gpu for a teacher that runs on the worker, as its rollouts do."""
    return "gpu" if runs_locally(teacher.backend, teacher.base_url) else "cpu"


def queue_probe(session: Session, *, project: Project, teacher: Teacher, user_id: int | None) -> Job:
    """Queue the teacher's speed probe on probe_queue(teacher)."""
    return submit_job(
        session,
        project=project,
        kind="teacher_probe",
        params={"teacher_id": teacher.id},
        user_id=user_id,
        queue_name=probe_queue(teacher),
    )
