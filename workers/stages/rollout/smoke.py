"""The rollout's smoke sample, worker side: the stage task plans it and sends its chunk alone; its chunk
task, once the sample's attempts are in, judges them with the filter's verifiers and stores the
result; at or above the floor the planned chunks follow. What the API shares (the sample, the result,
the decision) lives in backend/rollouts/smoke.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core import queue
from backend.core.db import session_scope
from backend.prompts.models import Prompt
from backend.rollouts.metrics import covered_positions
from backend.rollouts.schemas import RolloutSettings
from backend.rollouts.smoke import decision_of, release_rest, result, sample_chunk
from backend.runs import lifecycle
from backend.runs.chunks import plan_chunks
from backend.runs.models import Run, RunStage, StageChunk, Status
from workers.runner import StageContext
from workers.stages.rollout.adaptive import verify_and_tally
from workers.stages.rollout.fanout import FANOUT
from workers.stages.rollout.job import ChunkJob

log = logging.getLogger(__name__)


def dispatch(
    ctx: StageContext, settings: RolloutSettings, chunk_queue: Callable[[Session, RunStage, Run], str]
) -> None:
    """The stage task's body with a smoke sample: plan the chunks and the sample's (once); then, by
    where the sample stands, send its chunk, wait for a decision, or send the planned chunks."""
    with session_scope() as s:
        stage, run = s.get_one(RunStage, ctx.stage_id), s.get_one(Run, ctx.run_id)
        to = chunk_queue(s, stage, run)
        positions = covered_positions(run.prompt_set_id, settings)
        items = plan_chunks(s, stage_id=stage.id, positions=positions, chunk_size=settings.chunk_size)
        if not items:  # nothing to sample: the plain fan-out completes the stage
            FANOUT.plan_and_dispatch(s, stage=stage, run=run, positions=positions,
                                     chunk_size=settings.chunk_size, per_item=settings.n,
                                     chunk_queue=to)  # fmt: skip
            return
        chunk = sample_chunk(s, stage=stage, run=run, settings=settings)
        stage.progress_total = items * settings.n
        FANOUT.write_progress(s, stage=stage)
        decision = decision_of(stage)
        if chunk.status != Status.succeeded:
            lifecycle.move(chunk, Status.queued)
            s.commit()
            queue.send(FANOUT.chunk_task, [stage.id, chunk.id], queue=to)
            log.info("rollout stage %s: smoke sample queued (chunk %s)", stage.id, chunk.id)
            return
        if decision in ("pending", "cancelled"):
            # Below the floor (or re-queued after a cancel): the sample stands; people decide again.
            smoke = {**(stage.metrics or {})["smoke"], "decision": "pending"}
            stage.metrics = {**(stage.metrics or {}), "smoke": smoke}
            s.commit()
            return
        release_rest(s, stage=stage, run=run)


def judge_sample(job: ChunkJob) -> None:
    """Verify the sample's attempts (verdicts stored as the filter stage stores them; it skips them
    later) and store the result on the stage, unless a decision is already there."""
    settings = job.settings
    if settings.smoke is None:
        raise ValueError(f"chunk {job.chunk_id}: a smoke sample without smoke settings")
    with session_scope() as s:
        ids = list(s.scalars(select(Prompt.id).where(*job.prompts_where())))
    verify_and_tally(job, ids)
    with session_scope() as s:
        stage = s.get_one(RunStage, job.stage_id, with_for_update=True, populate_existing=True)
        if decision_of(stage) is None:
            smoke = result(s, run_id=job.run_id, prompt_ids=ids, min_accept=settings.smoke.min_accept)
            stage.metrics = {**(stage.metrics or {}), "smoke": smoke}
            log.info("rollout stage %s: smoke sample accepted %d of %d (floor %g): %s",
                     job.stage_id, smoke["accepted"], smoke["attempts"], smoke["min_accept"],
                     smoke["decision"])  # fmt: skip


def go_on(job: ChunkJob) -> None:
    """After the sample's chunk settled: a sample at or above the floor sends the planned chunks."""
    with session_scope() as s:
        stage = s.get_one(RunStage, job.stage_id, with_for_update=True, populate_existing=True)
        run = s.get_one(Run, stage.run_id)
        pending = (StageChunk.stage_id == stage.id, StageChunk.status == Status.pending)
        waiting = s.scalar(select(StageChunk.id).where(*pending).limit(1))
        if (
            stage.status == Status.running
            and run.status == Status.running
            and decision_of(stage) in ("passed", "continued")
            and waiting is not None
        ):
            release_rest(s, stage=stage, run=run)
