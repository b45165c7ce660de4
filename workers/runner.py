"""The one runner for stages and jobs: claim the row, run the body, record how it ended.

Both go through the same steps, with status changes made by backend/runs/lifecycle.py:
  claim (or skip: cancelled, already done, a duplicate delivery) -> body(ctx) ->
  succeeded with its result | cancelled (the body saw a cancel at a progress write) |
  failed with the error, stored before anything is re-raised.
A user error (AppError: bad file, bad row, bad settings) fails the row with its message and is not
re-raised, since retrying cannot fix the input; anything else is stored, then re-raised.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import nullcontext
from functools import partial
from typing import Any

from pydantic import BaseModel, ValidationError

from backend.core.db import session_scope
from backend.core.errors import AppError
from backend.core.logging import error_text
from backend.jobs import lifecycle as job_lifecycle
from backend.jobs.models import Job
from backend.runs import lifecycle
from backend.runs.models import Run, RunStage, Status
from backend.runs.stages import stage_kind
from workers.keepalive import beating
from workers.progress import Cancelled, ProgressReporter, side_writes_allowed

log = logging.getLogger(__name__)


class StageContext(ProgressReporter):
    """What a stage body gets: ids, its typed settings, the whole recipe, and progress reporting that
    also checks for cancellation."""

    model = RunStage

    def __init__(
        self,
        stage_id: int,
        run_id: int,
        recipe: dict[str, Any],
        prompt_set_id: int | None,
        settings: BaseModel | None = None,
        kind: str = "",
    ):
        super().__init__(stage_id)
        self.stage_id, self.run_id, self.recipe, self.prompt_set_id = stage_id, run_id, recipe, prompt_set_id
        self.settings, self.kind = settings, kind


class JobContext(ProgressReporter):
    model = Job

    def __init__(self, job_id: int, project_id: int, params: dict[str, Any], user_id: int | None):
        super().__init__(job_id)
        self.job_id, self.project_id, self.params, self.user_id = job_id, project_id, params, user_id


StageFn = Callable[[StageContext], dict[str, Any] | None]
JobFn = Callable[[JobContext], dict[str, Any]]
# What a stage body returns when tasks of its own (a fan-out's chunks) will finish the stage.
DEFERRED = None


def settings_for(kind: str, recipe: dict[str, Any]) -> BaseModel:
    """A stage's typed settings from a stored recipe. A recipe changed behind the API's back fails
    here, with the field paths, before the stage does any work."""
    try:
        return stage_kind(kind).validate_settings(recipe.get(kind) or {})
    except ValidationError as exc:
        where = "; ".join(f"{kind}.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise TypeError(f"the run's stored recipe has invalid {kind} settings: {where}") from None


def _why(exc: BaseException) -> str:
    return error_text(exc)


def _guarded(label: str, fn: Callable, ctx, end: Callable, error_of: Callable) -> tuple[bool, Any]:
    """Run a body; on cancel or error record how it ended through `end` (error_of shapes the error
    for the row) and say so. Only unexpected errors are re-raised, after they are stored."""
    try:
        return True, fn(ctx)
    except Cancelled:
        end(Status.cancelled)
        log.info("%s cancelled", label)
    except AppError as exc:
        end(Status.failed, error_of(exc))
        log.info("%s failed: %s", label, exc.message)
    except BaseException as exc:
        end(Status.failed, error_of(exc))
        log.exception("%s failed", label)
        raise
    return False, None


# ---- stages ------------------------------------------------------------------------------------


def _claim_stage(stage_id: int, task_id: str | None) -> StageContext | None:
    with session_scope() as s:
        stage = s.get(RunStage, stage_id)
        if stage is None:
            log.warning("stage %s does not exist; dropping task", stage_id)
            return None
        run = s.get(Run, stage.run_id)
        if not lifecycle.claim_stage(s, stage=stage, run=run, task_id=task_id):
            return None
        return StageContext(stage.id, run.id, run.recipe, run.prompt_set_id, kind=stage.kind)


def _end_stage(stage_id: int, status: Status, error: str | None = None) -> None:
    with session_scope() as s:
        stage = s.get(RunStage, stage_id)
        lifecycle.finish_stage(s, stage=stage, run=s.get(Run, stage.run_id), status=status, error=error)


def run_stage(stage_id: int, task_id: str | None, fn: StageFn) -> dict[str, Any] | None:
    """Run fn as stage stage_id with its typed settings; errors are stored on the stage and run."""
    ctx = _claim_stage(stage_id, task_id)
    if ctx is None:
        return None

    def body(ctx: StageContext):
        ctx.settings = settings_for(ctx.kind, ctx.recipe)
        return fn(ctx)

    with beating(RunStage, RunStage.id == stage_id):
        ok, metrics = _guarded(f"stage {stage_id}", body, ctx, partial(_end_stage, stage_id), _why)
    if not ok or metrics is DEFERRED:
        return None
    with session_scope() as s:
        stage = s.get(RunStage, stage_id)
        lifecycle.complete_stage(s, stage=stage, run=s.get(Run, stage.run_id), metrics=metrics)
    return metrics


# ---- jobs --------------------------------------------------------------------------------------


def _job_error(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, AppError):
        return {"code": exc.code, "message": exc.message, "fields": exc.fields, "details": exc.details}
    return {"code": "internal_error", "message": _why(exc)}


def _end_job(job_id: int, status: Status, error=None, *, result=None) -> None:
    with session_scope() as s:
        job_lifecycle.finish_job(s, job=s.get(Job, job_id), status=status, result=result, error=error)


def run_job(job_id: int, task_id: str | None, fn: JobFn) -> dict[str, Any] | None:
    """Run fn as job job_id. A user error fails the job with the same {code, message, details} an API
    error carries."""
    with session_scope() as s:
        job = s.get(Job, job_id)
        if job is None:
            log.warning("job %s does not exist; dropping task", job_id)
            return None
        if not job_lifecycle.claim_job(s, job=job, task_id=task_id):
            return None
        ctx = JobContext(job.id, job.project_id, job.params, job.created_by)
    # On SQLite a long import holds the only write lock: no beat could land (and none is checked there).
    with beating(Job, Job.id == job_id) if side_writes_allowed() else nullcontext():
        ok, result = _guarded(f"job {job_id}", fn, ctx, partial(_end_job, job_id), _job_error)
    if not ok:
        return None
    _end_job(job_id, Status.succeeded, result=result)
    return result
