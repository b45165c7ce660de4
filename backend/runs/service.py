"""Runs: create from a recipe, launch stages on the queue, list, cancel."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core.errors import Conflict, NotFound
from backend.core.pagination import keyset
from backend.projects.models import Project
from backend.prompts.service import get_prompt_set
from backend.runs.models import Run, RunStage, Status
from backend.runs.schemas import RunCreate
from backend.runs.stages import STAGES
from backend.teachers.service import get_teacher
from backend.users.models import User

log = logging.getLogger(__name__)


def stages_of(session: Session, *, run: Run) -> list[RunStage]:
    """A run's stages in pipeline order."""
    stmt = select(RunStage).where(RunStage.run_id == run.id).order_by(RunStage.position)
    return list(session.scalars(stmt))


def create_run(session: Session, *, project: Project, user: User | None, data: RunCreate) -> Run:
    """Validate the recipe's references, freeze the prompt set, and store the run with its stages."""
    recipe = data.recipe
    pset = get_prompt_set(session, project=project, prompt_set_id=recipe.prompt_set_id)
    if pset.status != "ready":
        raise Conflict(f"prompt set {pset.id} is {pset.status}, not ready", code="prompt_set_not_ready")
    warnings: list[str] = []
    if recipe.teacher_id is not None:
        teacher = get_teacher(session, project=project, teacher_id=recipe.teacher_id)
        if teacher.licence == "api_no_compete":
            warnings.append(
                f"teacher {teacher.name!r} is served under API terms that forbid training competing models"
            )
    pset.frozen = True  # edits now make a new version
    run = Run(
        project_id=project.id,
        name=data.name,
        recipe=recipe.model_dump(mode="json"),
        recipe_version=recipe.version,
        prompt_set_id=pset.id,
        teacher_id=recipe.teacher_id,
        warnings=warnings,
        created_by=user.id if user else None,
    )
    session.add(run)
    session.flush()
    for i, kind in enumerate(recipe.stages):
        session.add(RunStage(run_id=run.id, position=i, kind=kind))
    session.flush()
    return run


def enqueue_next_stage(session: Session, *, run: Run) -> RunStage | None:
    """Queue the first pending stage of a run; mark the run succeeded when none is left.

    Commits first: the worker must see the rows before its task arrives.
    """
    from workers.celery_app import celery_app  # the api only needs Celery to send, never to run

    stage = next((s for s in stages_of(session, run=run) if s.status == Status.pending), None)
    now = datetime.now(UTC)
    if stage is None:
        run.status = Status.succeeded
        run.finished_at = now
        session.commit()
        return None
    stage.status = Status.queued
    if run.status == Status.pending:
        run.status = Status.queued
    session.commit()
    kind = STAGES[stage.kind]
    result = celery_app.send_task(kind.task, args=[stage.id], queue=kind.queue)
    stage.task_id = result.id
    session.commit()
    log.info("queued stage %s (%s) of run %s as task %s", stage.id, stage.kind, run.id, result.id)
    return stage


def get_run(session: Session, *, project: Project, run_id: int) -> Run:
    """A run of this project, or 404."""
    run = session.get(Run, run_id)
    if run is None or run.project_id != project.id:
        raise NotFound(f"run {run_id} not found")
    return run


def list_runs(
    session: Session, *, project: Project, limit: int, cursor: str | None, status: Status | None = None
) -> tuple[list[Run], str | None]:
    """A page of runs, newest first."""
    stmt = select(Run).where(Run.project_id == project.id)
    if status is not None:
        stmt = stmt.where(Run.status == status)
    rows, nxt = keyset(session, stmt, Run.id, limit=limit, cursor=cursor)
    return list(rows), nxt


def cancel_run(session: Session, *, run: Run) -> Run:
    """Cancel pending and queued stages now; a running stage stops at its next progress check."""
    if run.status.finished:
        raise Conflict(f"run {run.id} already {run.status.value}", code="run_finished")
    now = datetime.now(UTC)
    running = False
    revoke: list[str] = []
    for stage in stages_of(session, run=run):
        if stage.status in (Status.pending, Status.queued):
            if stage.task_id:
                revoke.append(stage.task_id)
            stage.status, stage.finished_at = Status.cancelled, now
        elif stage.status in (Status.running, Status.cancelling):
            stage.status = Status.cancelling
            running = True
    run.status = Status.cancelling if running else Status.cancelled
    if not running:
        run.finished_at = now
    session.commit()
    if revoke:
        _revoke(revoke)
    return run


def _revoke(task_ids: list[str]) -> None:
    # Revocation is a courtesy: the worker re-checks the stage's status before doing any work,
    # and the filesystem transport has no broadcast channel.
    from workers.celery_app import celery_app

    try:
        celery_app.control.revoke(task_ids)
    except Exception as exc:  # noqa: BLE001
        log.info("could not broadcast revoke (%s); workers will skip cancelled stages", exc)
