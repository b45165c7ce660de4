"""Runs: create from a recipe, read and list, resume with a stage's settings edited. Status changes
live in backend/runs/lifecycle.py."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, Row, bindparam, func, select
from sqlalchemy.orm import Session

from backend.core.db import connection_of
from backend.core.errors import Conflict, Invalid, NotFound
from backend.core.pagination import KeysetQuery
from backend.projects.models import Project
from backend.prompts.service import get_prompt_set
from backend.runs import lifecycle
from backend.runs.lifecycle import stages_of
from backend.runs.models import Run, RunStage, Status
from backend.runs.schemas import Recipe, RunCreate
from backend.runs.stages import STAGES
from backend.teachers.service import get_teacher
from backend.users.models import User

log = logging.getLogger(__name__)
__all__ = ["create_run", "get_run", "get_run_ref", "list_runs", "resume_stage", "stages_of"]


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
    for kind in recipe.stages:
        if (create_check := STAGES[kind].create_check) is not None:
            create_check(session, project, recipe)
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


def resume_stage(
    session: Session, *, project: Project, user: User, run: Run, stage_id: int, settings: dict[str, Any]
) -> Run:
    """Replace a failed or cancelled stage's settings in the run's recipe and send the run back to the
    queue from that stage (lifecycle.requeue_run: succeeded stages keep their results). The new settings
    are checked as run creation checks them (the kind's model, the cross-stage rules, the references), so
    a bad field is a 422 naming it under body.settings and nothing changes."""
    stage = session.get(RunStage, stage_id)
    if stage is None or stage.run_id != run.id:
        raise NotFound(f"stage {stage_id} of run {run.id} not found")
    session.refresh(run, with_for_update=True)  # one edit at a time, and none while a re-queue runs
    if run.status not in (Status.failed, Status.cancelled):
        raise Conflict(
            f"run {run.id} is {run.status.value}: a stage's settings change only once the run has failed "
            "or was cancelled",
            code="run_active",
        )
    session.refresh(stage)
    if stage.status not in (Status.failed, Status.cancelled):
        raise Conflict(
            f"stage {stage.kind} is {stage.status.value}: only a failed or cancelled stage's settings change",
            code="stage_not_failed",
        )
    try:
        recipe = Recipe.model_validate({**run.recipe, stage.kind: settings})
    except ValidationError as exc:
        fields = [_settings_field(e, stage.kind) for e in exc.errors()]
        raise Invalid(
            f"{stage.kind} settings are invalid: {fields[0]['path']}: {fields[0]['message']}", fields=fields
        ) from None
    if (create_check := STAGES[stage.kind].create_check) is not None:
        create_check(session, project, recipe)
    run.recipe = recipe.model_dump(mode="json")
    log.info("run %s: %s settings edited by user %s; resuming from that stage", run.id, stage.kind, user.id)
    return lifecycle.requeue_run(session, run=run)


def _settings_field(e: Any, kind: str) -> dict[str, str]:
    """A recipe error as a field of the request: the stage's own under body.settings, a cross-stage
    rule (no location: its message names the field) on body.settings as a whole."""
    loc = [str(p) for p in e["loc"]]
    rest = loc[1:] if loc[:1] == [kind] else loc
    return {"path": ".".join(["body", "settings", *rest]), "message": e["msg"], "type": e["type"]}


def get_run(session: Session, *, project: Project, run_id: int) -> Run:
    """A run of this project, or 404."""
    run = session.get(Run, run_id)
    if run is None or run.project_id != project.id:
        raise NotFound(f"run {run_id} not found")
    return run


_REF = select(Run.id, Run.project_id, Run.prompt_set_id).where(
    Run.id == bindparam("run_id"), Run.project_id == bindparam("project_id")
)


def get_run_ref(session: Session, *, project: Project, run_id: int) -> Row:
    """A run of this project as its id and prompt set (what reading its rows needs: the recipe and the
    summary, JSON that a read of the full run parses, stay unread), or 404."""
    ref = session.connection().execute(_REF, {"run_id": run_id, "project_id": project.id}).first()
    if ref is None:
        raise NotFound(f"run {run_id} not found")
    return ref


def _partly_failed():
    """The partly_failed note of the first stage kind (registry order) whose summary has one, read in
    SQL so that the list never loads the summaries themselves."""
    notes = [
        Run.summary[(k.name, "partly_failed")].as_string()
        for k in STAGES.values()
        if "partly_failed" in k.summary.model_fields
    ]
    return (func.coalesce(*notes) if len(notes) > 1 else notes[0]).label("partly_failed")


# RunListItem's fields, in its order; plain columns, so no JSON column is read or parsed per row.
LIST_COLUMNS = (
    Run.id,
    Run.project_id,
    Run.name,
    Run.status,
    Run.prompt_set_id,
    Run.teacher_id,
    _partly_failed(),
    Run.created_at,
    Run.started_at,
    Run.finished_at,
)


_PAGE = select(*LIST_COLUMNS).where(Run.project_id == bindparam("project_id"))
_LISTS = {
    False: KeysetQuery(_PAGE, Run.id),
    True: KeysetQuery(_PAGE.where(Run.status == bindparam("status")), Run.id),
}


def list_runs(
    session: Session | Connection,
    *,
    project_id: int,
    limit: int,
    cursor: str | None,
    status: Status | None = None,
) -> tuple[list[dict], str | None]:
    """A page of runs, newest first, as RunListItem's fields (plain values, in their declared types)."""
    params = {"project_id": project_id, "status": status}
    # Core rows through the session's connection (no ORM result handling), made dicts by zip: a Row's
    # _asdict builds its key view again for every row
    rows, nxt = _LISTS[status is not None].page(connection_of(session), params, limit=limit, cursor=cursor)
    keys = [str(k) for k in rows[0]._fields] if rows else []  # plain str, as orjson wants
    return [dict(zip(keys, r, strict=True)) for r in rows], nxt
