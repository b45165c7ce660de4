"""`distillery teachers probe`: queue a teacher's speed probe (a worker runs it) and follow it."""

from __future__ import annotations

import time

import typer
from rich.console import Console
from sqlalchemy import select

from backend.core.db import session_scope
from backend.core.errors import AppError, NotFound
from backend.jobs.models import Job
from backend.projects.service import find_project
from backend.teachers.models import Teacher
from backend.teachers.probe import probe_queue
from backend.teachers.probe import queue_probe as submit_probe
from backend.teachers.schemas import TeacherProbe


def find_teacher(session, project_id: int, ref: str) -> Teacher:
    """A teacher of the project by name, or by id when no teacher has that name."""
    teacher = session.scalar(select(Teacher).where(Teacher.project_id == project_id, Teacher.name == ref))
    if teacher is None and ref.isdigit():
        teacher = session.get(Teacher, int(ref))
        teacher = teacher if teacher is not None and teacher.project_id == project_id else None
    if teacher is None:
        raise NotFound(f"no teacher {ref!r} in this project", code="teacher_not_found")
    return teacher


def probe_line(probe: TeacherProbe) -> str:
    if probe.error:
        return f"probe failed: {probe.error}"
    line = (
        f"{probe.tokens_per_s:.1f} tokens/s per request, mean latency {probe.latency_ms:.0f} ms "
        f"({probe.succeeded}/{probe.requests} requests of max_tokens {probe.max_tokens})"
    )
    if probe.startup_s is not None:
        line += f", vLLM started in {probe.startup_s:.1f} s"
    return line


def queue_probe(project: str, teacher: str, *, console: Console) -> int:
    with session_scope() as s:
        try:
            proj = find_project(s, project)
        except AppError as exc:
            raise typer.BadParameter(exc.message, param_hint="PROJECT") from None
        try:
            t = find_teacher(s, proj.id, teacher)
        except AppError as exc:
            raise typer.BadParameter(exc.message, param_hint="TEACHER") from None
        job = submit_probe(s, project=proj, teacher=t, user_id=None)
        console.print(f"probe job {job.id} queued for teacher {t.name!r} on the {probe_queue(t)} queue")
        return job.id


def follow_probe(job_id: int, *, console: Console, poll_s: float = 0.5) -> int:
    """Wait for the probe job; print what it measured. Exit 0 only on success."""
    while True:
        with session_scope() as s:
            job = s.get_one(Job, job_id)
            status, error, tid = job.status, job.error, job.params["teacher_id"]
            probe = s.get_one(Teacher, tid).probe if status.finished else None
        if status.finished:
            break
        time.sleep(poll_s)
    if probe and probe.get("job_id") == job_id:
        console.print(probe_line(TeacherProbe.model_validate(probe)))
    if status.value != "succeeded":
        console.print(f"[red]probe job {job_id}: {status.value}: {(error or {}).get('message', '')}[/red]")
        return 1
    return 0
