"""The filter stage: every attempt of the run goes through the recipe's verifiers.

Chunks of prompts (workers/fanout.py), each a task on the cpu queue; verdicts are written in batches
and upserted on (generation, verifier, version), so a retried or re-queued chunk never duplicates a
verdict and only verifies what has no final verdict yet. Each attempt's decision is stored on it
(`generations.accepted`), which selection and snapshots read.
"""

from __future__ import annotations

from backend.rollouts.metrics import covered_positions
from backend.rollouts.schemas import RolloutSettings
from backend.runs.stages import STAGES
from backend.verifiers.filter import FilterSettings
from workers.celery_app import celery_app
from workers.runner import StageContext, run_stage, settings_for
from workers.stages.filter.chunk import run_chunk
from workers.stages.filter.fanout import FANOUT

KIND = STAGES["filter"]


def plan_and_dispatch(ctx: StageContext) -> None:
    """Chunks over the prompts the rollout covered; n attempts each at most."""
    settings = ctx.settings_as(FilterSettings)
    rollout = settings_for("rollout", ctx.recipe, RolloutSettings)
    return FANOUT.dispatch(
        ctx,
        positions=lambda run: covered_positions(run.prompt_set_id, rollout),
        chunk_size=settings.chunk_size,
        per_item=rollout.n,
    )


@celery_app.task(name=KIND.task, bind=True)
def filter_stage(self, stage_id: int) -> None:
    run_stage(stage_id, self.request.id, plan_and_dispatch)


@celery_app.task(name=KIND.chunk_task, bind=True)
def filter_chunk_task(self, stage_id: int, chunk_id: int) -> None:
    run_chunk(stage_id, chunk_id, self.request.id)
