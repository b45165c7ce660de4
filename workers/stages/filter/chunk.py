"""A filter chunk task: every attempt of the chunk's prompts that has no final verdict yet goes
through the recipe's verifiers, a batch at a time; the next batch is verified while the previous
one is written."""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, exists, select
from sqlalchemy.orm import Session

from backend.prompts.models import Prompt
from backend.rollouts.metrics import split_filter
from backend.rollouts.schemas import RolloutSettings
from backend.runs.models import Run, RunStage, StageChunk, Status
from backend.samples.models import Generation, Verdict
from backend.verifiers.filter import FilterSettings
from workers.progress import Cancelled
from workers.runner import settings_for
from workers.stages.filter.fanout import FANOUT
from workers.stages.filter.writer import VerdictWriter
from workers.verdicts import final_of
from workers.verifiers.pool import watched
from workers.verifiers.verdict import Item
from workers.verifiers.verify import verify_many

log = logging.getLogger(__name__)
_CANCEL_CHECK_S = 2.0  # how often a batch still verifying looks whether the stage was cancelled


@dataclass
class FilterJob:
    stage_id: int
    chunk_id: int
    run_id: int
    prompt_set_id: int
    first: int
    last: int
    settings: FilterSettings
    split_where: ColumnElement[bool]

    @property
    def final(self) -> tuple[str, str]:
        return final_of(self.settings.verifiers)


def build_job(s: Session, chunk: StageChunk, stage: RunStage, run: Run) -> FilterJob:
    rollout = settings_for("rollout", run.recipe, RolloutSettings)
    return FilterJob(
        stage_id=stage.id,
        chunk_id=chunk.id,
        run_id=run.id,
        prompt_set_id=run.prompt_set_id,
        first=chunk.first_position,
        last=chunk.last_position,
        settings=settings_for("filter", run.recipe, FilterSettings),
        split_where=split_filter(rollout),
    )


def _chunk_generations(job: FilterJob, s: Session):
    prompts = select(Prompt.id).where(
        Prompt.prompt_set_id == job.prompt_set_id,
        Prompt.position.between(job.first, job.last),
        job.split_where,
    )
    return list(s.scalars(prompts)), select(Generation.id).where(
        Generation.run_id == job.run_id, Generation.prompt_id.in_(prompts.scalar_subquery())
    )


def _todo(job: FilterJob, s: Session, ids_of_chunk, after: int, limit: int):
    name, version = job.final
    decided = exists().where(
        and_(
            Verdict.generation_id == Generation.id,
            Verdict.verifier == name,
            Verdict.verifier_version == version,
        )
    )
    return s.execute(
        select(
            Generation.id,
            Generation.content,
            Generation.reasoning,
            Generation.finish_reason,
            Prompt.reference,
            Prompt.meta,
        )
        .join(Prompt, Prompt.id == Generation.prompt_id)
        .where(
            Generation.id.in_(ids_of_chunk.scalar_subquery()),
            Generation.status == "ok",
            Generation.id > after,
            ~decided,
        )
        .order_by(Generation.id)
        .limit(limit)
    ).all()


def filter_chunk(job: FilterJob) -> None:
    from backend.core.db import session_scope

    with session_scope() as s:
        prompt_ids, ids_of_chunk = _chunk_generations(job, s)
        writer = VerdictWriter(
            stage_id=job.stage_id,
            chunk_id=job.chunk_id,
            run_id=job.run_id,
            final=job.final[0],
            write_progress=FANOUT.write_progress,
        )
    with session_scope() as s:
        writer.start(ids_of_chunk)
    combo = job.settings.verifiers
    pending: Future | None = None
    after = 0
    with ThreadPoolExecutor(1, thread_name_prefix="verdicts") as io:
        while True:
            with session_scope() as s:
                rows = _todo(job, s, ids_of_chunk, after, job.settings.batch)
            if not rows:
                break
            after = rows[-1][0]
            items = [
                Item(
                    completion=content or "",
                    reasoning=reasoning,
                    finish_reason=finish,
                    reference=reference,
                    tests=(meta or {}).get("tests"),
                )
                for _, content, reasoning, finish, reference, meta in rows
            ]
            t0 = time.perf_counter()
            with watched(lambda done, total: _check_cancel(job.stage_id), every_s=_CANCEL_CHECK_S):
                verdicts = verify_many(combo, items)
            ms = (time.perf_counter() - t0) * 1000
            if pending is not None and pending.result() != Status.running:
                raise Cancelled()
            pending = io.submit(writer.flush, [r[0] for r in rows], verdicts, ms)
        if pending is not None and pending.result() != Status.running:
            raise Cancelled()
    writer.finish(prompt_ids)


def _check_cancel(stage_id: int) -> None:
    """Inside a batch that takes long (checks that hang until their hard timeout): a cancel ends it."""
    from backend.core.db import session_scope

    with session_scope() as s:
        if s.scalar(select(RunStage.status).where(RunStage.id == stage_id)) != Status.running:
            raise Cancelled()


def run_chunk(stage_id: int, chunk_id: int, task_id: str | None) -> None:
    FANOUT.run_chunk(stage_id, chunk_id, task_id, build_job, filter_chunk)
