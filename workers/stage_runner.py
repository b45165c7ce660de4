"""Runs one stage of a run: marks it running, reports throttled progress, honours cancellation,
stores metrics or the error, then queues the next stage."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from backend.core.db import session_scope
from backend.runs.models import Run, RunStage, Status
from backend.runs.service import enqueue_next_stage
from workers.progress import Cancelled, ProgressReporter

log = logging.getLogger(__name__)


class StageContext(ProgressReporter):
    """What a stage function gets: ids, the recipe, and progress reporting that also checks cancel."""

    model = RunStage

    def __init__(self, stage_id: int, run_id: int, recipe: dict[str, Any], prompt_set_id: int | None):
        super().__init__(stage_id)
        self.stage_id, self.run_id, self.recipe, self.prompt_set_id = stage_id, run_id, recipe, prompt_set_id


StageFn = Callable[[StageContext], dict[str, Any] | None]
# What a stage function returns when tasks of its own (a rollout's chunks) will finish the stage.
DEFERRED = None


def _claim(stage_id: int, task_id: str | None) -> StageContext | None:
    with session_scope() as s:
        stage = s.get(RunStage, stage_id)
        if stage is None:
            log.warning("stage %s does not exist; dropping task", stage_id)
            return None
        run = s.get(Run, stage.run_id)
        if stage.status in (Status.cancelled, Status.cancelling) or run.status in (
            Status.cancelled,
            Status.cancelling,
        ):
            finish_stage(s, stage, run, Status.cancelled)
            return None
        if stage.status in (Status.succeeded, Status.failed):
            log.info("stage %s already %s; duplicate delivery ignored", stage_id, stage.status.value)
            return None
        now = datetime.now(UTC)
        stage.status, stage.started_at, stage.heartbeat_at = Status.running, now, now
        stage.task_id = task_id or stage.task_id
        stage.error = None
        run.status = Status.running
        run.started_at = run.started_at or now
        return StageContext(stage.id, run.id, run.recipe, run.prompt_set_id)


def finish_stage(s, stage: RunStage, run: Run, status: Status, error: str | None = None) -> None:
    now = datetime.now(UTC)
    stage.status, stage.finished_at, stage.error = status, now, error
    if status in (Status.failed, Status.cancelled):
        run.status, run.finished_at = status, now
        run.error = f"stage {stage.kind}: {error}" if error else run.error
        for other in s.query(RunStage).filter(RunStage.run_id == run.id, RunStage.status == Status.pending):
            other.status, other.finished_at = Status.cancelled, now


def run_stage(stage_id: int, task_id: str | None, fn: StageFn) -> dict[str, Any] | None:
    """Run fn as stage stage_id; errors are stored on the stage and run, then re-raised."""
    ctx = _claim(stage_id, task_id)
    if ctx is None:
        return None
    try:
        metrics = fn(ctx)
    except Cancelled:
        with session_scope() as s:
            stage = s.get(RunStage, stage_id)
            finish_stage(s, stage, s.get(Run, stage.run_id), Status.cancelled)
        log.info("stage %s cancelled", stage_id)
        return None
    except BaseException as exc:
        message = f"{type(exc).__name__}: {exc}"[:4000]
        with session_scope() as s:
            stage = s.get(RunStage, stage_id)
            finish_stage(s, stage, s.get(Run, stage.run_id), Status.failed, message)
        log.exception("stage %s failed", stage_id)
        raise
    if metrics is DEFERRED:
        return None
    with session_scope() as s:
        stage = s.get(RunStage, stage_id)
        complete_stage(s, stage, s.get(Run, stage.run_id), metrics)
    return metrics


def complete_stage(s, stage: RunStage, run: Run, metrics: dict[str, Any]) -> None:
    """Store a finished stage's metrics on it and the run, then queue the next stage (or stop
    there when the user cancelled meanwhile)."""
    stage.metrics = metrics
    stage.progress_done = max(stage.progress_done, stage.progress_total or 0)
    run.summary = {**(run.summary or {}), stage.kind: metrics}
    if stage.status == Status.cancelling or run.status == Status.cancelling:
        # Finished before it saw the cancel: the stage's result stands, the pipeline stops here.
        now = datetime.now(UTC)
        stage.status, stage.finished_at = Status.succeeded, now
        run.status, run.finished_at = Status.cancelled, now
        for other in s.query(RunStage).filter(RunStage.run_id == run.id, RunStage.status == Status.pending):
            other.status, other.finished_at = Status.cancelled, now
        return
    finish_stage(s, stage, run, Status.succeeded)
    s.flush()
    enqueue_next_stage(s, run=run)
