"""The rollout stage: the teacher writes n attempts per prompt.

The stage task cuts the prompt set into chunks (workers/fanout.py) and sends one Celery task per
chunk, on the gpu queue for a teacher that runs on the worker and the cpu queue for an endpoint.
Each chunk task (chunk.py) writes its attempts with ON CONFLICT on (run, prompt, attempt), so a
retried, duplicated or re-queued task never duplicates a row and only a failed attempt is ever
overwritten. The last chunk to finish completes the stage. With rollout.smoke, a seeded sample's
chunk runs first and is judged (smoke.py); the planned chunks follow at or above its floor, or once
a maintainer says continue.
"""

from __future__ import annotations

import logging

from backend.core.errors import Invalid
from backend.rollouts.metrics import covered_positions
from backend.rollouts.schemas import RolloutSettings
from backend.runs.models import Run, RunStage
from backend.runs.stages import STAGES
from backend.teachers.models import Teacher
from workers.celery_app import celery_app
from workers.runner import StageContext, run_stage
from workers.stages.rollout import smoke
from workers.stages.rollout.chunk import run_chunk
from workers.stages.rollout.fanout import FANOUT

log = logging.getLogger(__name__)
KIND = STAGES["rollout"]


def plan_and_dispatch(ctx: StageContext) -> None:
    """Plan the chunks (once), then queue a task for every chunk not yet done."""
    settings = ctx.settings_as(RolloutSettings)

    def chunk_queue(s, stage: RunStage, run: Run) -> str:
        teacher = s.get(Teacher, run.teacher_id) if run.teacher_id else None
        if teacher is None:
            raise Invalid("the run's teacher no longer exists", code="teacher_missing")
        return KIND.chunk_queue(s, run) if KIND.chunk_queue else KIND.queue

    if settings.smoke is not None:  # a sample first (smoke.py)
        return smoke.dispatch(ctx, settings, chunk_queue)
    return FANOUT.dispatch(
        ctx,
        positions=lambda run: covered_positions(run.prompt_set_id, settings),
        chunk_size=settings.chunk_size,
        per_item=settings.n,
        prepare=chunk_queue,
    )


@celery_app.task(name=KIND.task, bind=True)
def rollout_stage(self, stage_id: int) -> None:
    run_stage(stage_id, self.request.id, plan_and_dispatch)


@celery_app.task(name=KIND.chunk_task, bind=True)
def rollout_chunk(self, stage_id: int, chunk_id: int) -> None:
    run_chunk(stage_id, chunk_id, self.request.id)
