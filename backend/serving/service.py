"""Serve a trained student: the served_models row, its `serve` job (a gpu worker holds the vLLM server
for as long as the job runs: workers/jobs/serve.py), and the teacher rows that make the endpoint usable
by runs (as a teacher, a judge, or an evaluation's teacher model).

The status is the job's, read through `status_of`: the job life cycle, its heartbeat and the janitor's
lost-worker check (`jobs.lifecycle.fail_lost_jobs`) are the serving's too. A served model whose job has
ended keeps no teacher row (`release_teachers`, called by the worker as it stops and by the janitor for
a worker that died), so no run is ever started against an endpoint nobody serves.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core.errors import Conflict, Invalid, NotFound
from backend.core.pagination import keyset
from backend.datasets.models import ModelArtifact
from backend.jobs.lifecycle import cancel_job
from backend.jobs.models import Job
from backend.jobs.service import submit_job
from backend.projects.models import Project
from backend.runs.models import Status
from backend.serving.models import ServedModel
from backend.serving.schemas import ServedAdapter, ServedOut, ServedStatus, ServeRequest
from backend.teachers.models import Teacher
from backend.teachers.settings import check_teacher
from backend.training.service import get_model

log = logging.getLogger(__name__)
WORKER_LOST = "worker_lost"


def status_of(row: ServedModel, job: Job | None) -> ServedStatus:
    if job is None:  # its job was deleted: nothing can be serving it
        return ServedStatus.stopped
    if job.status == Status.queued:
        return ServedStatus.queued
    if job.status == Status.running:
        return ServedStatus.running if row.base_url else ServedStatus.starting
    if job.status == Status.cancelling:
        return ServedStatus.stopping
    if job.status == Status.failed and (job.error or {}).get("code") != WORKER_LOST:
        return ServedStatus.failed
    return ServedStatus.stopped


def to_out(session: Session, row: ServedModel) -> ServedOut:
    job = session.get(Job, row.job_id) if row.job_id else None
    status = status_of(row, job)
    live = status in (ServedStatus.running, ServedStatus.stopping)
    return ServedOut(
        id=row.id,
        project_id=row.project_id,
        artifact_id=row.artifact_id,
        name=row.name,
        status=status,
        base_url=row.base_url if live else None,
        teacher_id=row.teacher_id,
        adapters=[ServedAdapter.model_validate(a) for a in row.adapters or []],
        settings=row.settings or {},
        pid=row.pid if live else None,
        host=row.host,
        job_id=row.job_id,
        error=job.error if job else None,
        created_at=row.created_at,
        started_at=job.started_at if job else None,
        stopped_at=job.finished_at if job else None,
        heartbeat_at=job.heartbeat_at if job else None,
    )


def _check_settings(settings: dict[str, Any]) -> dict[str, Any]:
    checked = check_teacher("vllm", None, settings)  # 422 naming body.settings.<field>
    if "served_model_name" in checked:
        message = "the served name is the request's `name`"
        raise Invalid(
            f"invalid serve settings: body.settings.served_model_name: {message}",
            fields=[{"path": "body.settings.served_model_name", "message": message, "type": "not_allowed"}],
        )
    return checked


def _live_names(session: Session, project_id: int) -> set[str]:
    """Names served (or about to be) in the project: the model's own and its adapters'."""
    rows = session.execute(
        select(ServedModel)
        .join(Job, Job.id == ServedModel.job_id)
        .where(
            ServedModel.project_id == project_id,
            Job.status.in_([Status.queued, Status.running, Status.cancelling]),
        )
    ).scalars()
    return {a["name"] for r in rows for a in (r.adapters or [{"name": r.name}])} | {r.name for r in rows}


def serve_model(
    session: Session, *, project: Project, artifact: ModelArtifact, data: ServeRequest, user_id: int | None
) -> ServedModel:
    """Queue a server over a trained model (and its sibling adapters); the gpu worker that takes the job
    starts vLLM and registers the endpoint as teacher(s) named after what it serves."""
    settings = _check_settings(data.settings)
    name = data.name or f"student-{artifact.id}"
    extra: list[ModelArtifact] = []
    for i, model_id in enumerate(data.adapters):
        field = f"body.adapters.{i}"
        if model_id == artifact.id or model_id in {a.id for a in extra}:
            message = f"model {model_id} is named twice"
            raise Invalid(
                f"{field}: {message}", fields=[{"path": field, "message": message, "type": "duplicate"}]
            )
        try:
            other = get_model(session, project=project, model_id=model_id)
        except NotFound:
            raise NotFound(f"{field}: model {model_id} not found", code="model_not_found") from None
        if other.base_model != artifact.base_model:
            message = (
                f"model {model_id} was trained from {other.base_model!r}, not {artifact.base_model!r}: "
                "adapters share one base"
            )
            raise Invalid(f"{field}: {message}", fields=[{"path": field, "message": message, "type": "base"}])
        extra.append(other)
    adapters: list[dict[str, Any]] = [{"name": name, "artifact_id": artifact.id}] + [
        {"name": f"{name}-{a.id}", "artifact_id": a.id} for a in extra
    ]
    names: list[str] = [str(a["name"]) for a in adapters]
    taken: set[str] = set(
        session.scalars(select(Teacher.name).where(Teacher.project_id == project.id, Teacher.name.in_(names)))
    ) | (set(names) & _live_names(session, project.id))
    if taken:
        raise Conflict(
            f"a teacher or served model named {sorted(taken)[0]!r} already exists in this project; "
            "choose another name",
            code="served_name_taken",
        )
    row = ServedModel(
        project_id=project.id,
        artifact_id=artifact.id,
        name=name,
        adapters=adapters,
        settings=settings,
        created_by=user_id,
    )
    session.add(row)
    session.flush()
    job = submit_job(session, project=project, kind="serve", params={"served_id": row.id}, user_id=user_id)
    row.job_id = job.id
    session.commit()
    return row


def get_served(session: Session, *, project: Project, served_id: int) -> ServedModel:
    """A served model of this project, or 404 (another project's included)."""
    row = session.get(ServedModel, served_id)
    if row is None or row.project_id != project.id:
        raise NotFound(f"served model {served_id} not found")
    return row


def list_served(
    session: Session, *, project: Project, limit: int, cursor: str | None
) -> tuple[list[ServedModel], str | None]:
    """A page of served models, newest first."""
    stmt = select(ServedModel).where(ServedModel.project_id == project.id)
    rows, nxt = keyset(session, stmt, ServedModel.id, limit=limit, cursor=cursor)
    return list(rows), nxt


def stop_served(session: Session, *, row: ServedModel) -> ServedModel:
    """Ask the worker to stop the server (a queued one never starts); an ended one is left as it is."""
    job = session.get(Job, row.job_id) if row.job_id else None
    if job is not None and not job.status.finished:
        cancel_job(session, job=job)
        row.stop_reason = row.stop_reason or "stopped on request"
    if job is None or job.status.finished:
        release_teachers(session, row)
    session.flush()
    return row


def register_endpoint(session: Session, *, served_id: int, base_url: str, pid: int, host: str) -> None:
    """The worker's record of a started server: where it answers, and one teacher row per served name
    (backend vllm with base_url: the rollout, judge and evaluate stages call it as any running vLLM)."""
    row = session.get_one(ServedModel, served_id)
    row.base_url, row.pid, row.host = base_url, pid, host
    licence = _licence_of(session, row)
    settings = {k: v for k, v in (row.settings or {}).items() if k == "max_model_len"}
    adapters = []
    for a in row.adapters or []:
        teacher = Teacher(
            project_id=row.project_id,
            name=a["name"],
            backend="vllm",
            model=a["name"],
            base_url=base_url,
            licence=licence,
            settings=settings,
        )
        session.add(teacher)
        session.flush()
        adapters.append({**a, "teacher_id": teacher.id})
    row.adapters = adapters
    row.teacher_id = adapters[0]["teacher_id"] if adapters else None
    session.flush()


def _licence_of(session: Session, row: ServedModel) -> str:
    """A student distilled from a teacher inherits its teacher's terms (api_no_compete stays so)."""
    art = session.get(ModelArtifact, row.artifact_id) if row.artifact_id else None
    lineage_teacher = ((art.metrics or {}).get("lineage") or {}).get("teacher") if art else None
    tid = (lineage_teacher or {}).get("id") if isinstance(lineage_teacher, dict) else None
    teacher = session.get(Teacher, tid) if tid else None
    return teacher.licence if teacher is not None else "open_weights"


def release_teachers(session: Session, row: ServedModel) -> list[int]:
    """Remove the teacher rows of a server that no longer runs; one still used by a run that has not
    finished stays until the run ends (the janitor tries again), and such a run fails on its own."""
    from backend.teachers.service import delete_teacher

    removed, kept = [], []
    for a in row.adapters or []:
        tid = a.get("teacher_id")
        teacher = session.get(Teacher, tid) if tid else None
        if teacher is None:
            kept.append({**a, "teacher_id": None})
            continue
        try:
            delete_teacher(session, teacher=teacher)
        except Conflict:
            kept.append(a)
            continue
        removed.append(teacher.id)
        kept.append({**a, "teacher_id": None})
    row.adapters = kept
    # any teacher still kept keeps the row in release_ended's sight until it goes
    row.teacher_id = next((a["teacher_id"] for a in kept if a.get("teacher_id")), None)
    session.flush()
    return removed


def release_ended(session: Session) -> list[int]:
    """The janitor's check: served models whose job ended (a lost worker's included) keep no teacher."""
    rows = session.scalars(
        select(ServedModel)
        .outerjoin(Job, Job.id == ServedModel.job_id)
        .where(
            ServedModel.teacher_id.is_not(None),
            (Job.id.is_(None)) | Job.status.in_([Status.succeeded, Status.failed, Status.cancelled]),
        )
    ).all()
    done = []
    for row in rows:
        if release_teachers(session, row):
            done.append(row.id)
    session.commit()
    return done
