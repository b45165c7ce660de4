"""The one chunked fan-out: plan, dispatch, claim (SKIP LOCKED), take over, settle, re-queue.

A fan-out stage (rollout today; filter, judge and evaluation next) cuts its work into chunks of
ascending prompt positions. Its stage task plans the chunks once and sends one chunk task each;
a chunk task claims its chunk, or, while its own work runs dry, takes over the stage's next queued
chunk so the backend it drives never idles between chunks. Each chunk is settled as it ends: a
failed chunk fails the stage, a cancel ends it once nothing runs, and the last chunk to succeed
completes the stage with the summary of all chunks. Re-queue (backend/runs/lifecycle.requeue_run)
resets unfinished chunks; their tasks then redo only what is missing, which each stage's own writes
make idempotent. Status changes go through backend/runs/lifecycle.py.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from backend.core import queue
from backend.core.config import get_settings
from backend.core.db import session_scope
from backend.core.errors import Invalid
from backend.core.logging import error_text
from backend.runs import lifecycle
from backend.runs.chunks import plan_chunks
from backend.runs.models import Run, RunStage, StageChunk, Status
from backend.runs.stages import stage_kind
from workers.keepalive import beating, chunks_held
from workers.progress import Cancelled

log = logging.getLogger(__name__)
T = TypeVar("T")
# (session, chunk, stage, run) -> what the chunk task needs, built inside the claiming transaction
Build = Callable[[Session, StageChunk, RunStage, Run], T]


@dataclass(frozen=True)
class Fanout:
    """One fan-out stage's hooks: how its live metrics are summed and how many items they count."""

    kind: str
    summarize: Callable[[Session, RunStage], dict[str, Any]]  # the stage's summary from its chunks
    done_of: Callable[[dict[str, Any]], int]  # progress_done from that summary
    # (session, stage, run, summary) -> why a stage whose chunks all succeeded fails after all, or None
    failure_of: Callable[[Session, RunStage, Run, dict[str, Any]], str | None] | None = None

    @property
    def chunk_task(self) -> str:
        task = stage_kind(self.kind).chunk_task
        if task is None:
            raise TypeError(
                f"stage kind {self.kind} has a Fanout but no chunk task: its entry needs fanout=True"
            )
        return task

    def write_progress(self, session: Session, *, stage: RunStage) -> Status:
        """Store the live summary on the stage; returns its status (the cancellation check)."""
        metrics = self.summarize(session, stage)
        stage.metrics = {**(stage.metrics or {}), **metrics}
        stage.progress_done = self.done_of(metrics)
        stage.heartbeat_at = datetime.now(UTC)
        return stage.status

    # ---- the stage task ----------------------------------------------------------------------

    def plan_and_dispatch(
        self, session: Session, *, stage: RunStage, run: Run, positions: Select, chunk_size: int,
        per_item: int, chunk_queue: str,
    ) -> list[int]:  # fmt: skip
        """Plan the chunks (once), set the stage's total to items x per_item, mark every unfinished
        chunk queued and commit; then send a task for each. With nothing left, complete the stage."""
        items = plan_chunks(session, stage_id=stage.id, positions=positions, chunk_size=chunk_size)
        stage.progress_total = items * per_item
        self.write_progress(session, stage=stage)
        ids = lifecycle.queue_chunks(session, stage_id=stage.id)
        if not ids:
            lifecycle.complete_stage(session, stage=stage, run=run, metrics=self.summarize(session, stage))
            return []
        session.commit()
        for chunk_id in ids:
            queue.send(self.chunk_task, [stage.id, chunk_id], queue=chunk_queue)
        log.info("%s stage %s: %d items, %d chunks queued on %s", self.kind, stage.id, items, len(ids),
                 chunk_queue)  # fmt: skip
        return ids

    def dispatch(
        self, ctx, *, positions: Callable[[Run], Select], chunk_size: int, per_item: int,
        prepare: Callable[[Session, RunStage, Run], str | None] | None = None,
    ) -> None:  # fmt: skip
        """A fan-out stage task's body whole (ctx: the runner's StageContext): in one transaction,
        prepare(session, stage, run) (checks and what the stage fixes once; returns the chunks' queue,
        None for the kind's own), then plan_and_dispatch over positions(run). Returns DEFERRED (None):
        the chunks complete the stage."""
        with session_scope() as s:
            stage, run = s.get_one(RunStage, ctx.stage_id), s.get_one(Run, ctx.run_id)
            chunk_queue = (prepare(s, stage, run) if prepare else None) or stage_kind(self.kind).queue
            self.plan_and_dispatch(
                s, stage=stage, run=run, positions=positions(run), chunk_size=chunk_size,
                per_item=per_item, chunk_queue=chunk_queue,
            )  # fmt: skip

    # ---- chunk tasks -------------------------------------------------------------------------

    def claim(self, stage_id: int, chunk_id: int | None, task_id: str | None, build: Build[T]) -> T | None:
        """Take a chunk for this task: the one its message names, or (chunk_id None) the stage's next
        queued one or one whose task died (no heartbeat for DISTILLERY_STALE_AFTER_S), skipping rows
        other tasks hold locked. None when there is nothing to do: the stage no longer runs, the
        chunk is done, or a live task (fresh heartbeat) is on it. Taking a dead task's chunk counts
        a lost worker on the stage (past DISTILLERY_MAX_REQUEUES the stage fails). None too when
        build refuses the stage's inputs (Invalid): the chunk and the stage are failed with its message."""
        with session_scope() as s:
            stmt = select(StageChunk).with_for_update(skip_locked=chunk_id is None)
            if chunk_id is None:
                cutoff = datetime.now(UTC) - timedelta(seconds=get_settings().stale_after_s)
                lost = and_(StageChunk.status == Status.running, StageChunk.heartbeat_at < cutoff)
                stmt = stmt.where(
                    StageChunk.stage_id == stage_id, or_(StageChunk.status == Status.queued, lost)
                )
                stmt = stmt.order_by(StageChunk.index).limit(1)
            else:
                stmt = stmt.where(StageChunk.id == chunk_id)
            chunk = s.scalar(stmt)
            stage = s.get(RunStage, stage_id)
            if chunk is None or stage is None:
                return None
            run = s.get_one(Run, stage.run_id)
            if stage.status != Status.running or run.status != Status.running:
                lifecycle.cancel_waiting_chunk(s, chunk=chunk)
                return None
            if chunk.status in (Status.succeeded, Status.cancelled):
                return None
            now = datetime.now(UTC)
            if (
                chunk.status == Status.running
                and chunk.task_id != task_id
                and chunk.heartbeat_at
                and (now - chunk.heartbeat_at).total_seconds() < get_settings().stale_after_s
            ):
                log.info("chunk %s is being worked on by task %s; skipping", chunk.id, chunk.task_id)
                return None
            if chunk.status == Status.running:  # its task died: redelivered, or taken over when stale
                # The stage row is locked (as settle locks it) only here, where no live task holds
                # the chunk, so this never waits on a settle of the same chunk.
                stage = s.get_one(RunStage, stage_id, with_for_update=True, populate_existing=True)
                if stage.status != Status.running:
                    return None
                how = f"chunk {chunk.index}'s task {chunk.task_id} stopped"
                if not lifecycle.note_worker_lost(s, stage=stage, run=run, how=how):
                    lifecycle.settle_chunk(s, chunk=chunk, status=Status.failed, error=stage.error)
                    return None
            lifecycle.claim_chunk(s, chunk=chunk, task_id=task_id, now=now)
            try:
                return build(s, chunk, stage, run)
            except Invalid as exc:
                # The stage's inputs are refused (its teacher deleted since planning, say): no retry
                # mends that. Rolled back with the claim, the chunk would stay queued and the janitor
                # would re-send it forever; kept claimed, it fails here and fails the stage with it.
                refused, claimed = exc, chunk.id
        self.settle(stage_id, claimed, Status.failed, error_text(str(refused)))  # its message, for people
        return None

    def run_chunk(self, stage_id: int, chunk_id: int, task_id: str | None, build: Build[T], body) -> None:
        """A chunk task whole: claim its chunk, run body(job), settle it as it ended (a cancel seen at a
        progress write, an error stored before it is re-raised, or success)."""
        job = self.claim(stage_id, chunk_id, task_id, build)
        if job is None:
            self.settle(stage_id, chunk_id, None, None)
            return
        try:
            with beating(StageChunk, chunks_held(task_id, chunk_id)):
                body(job)
        except Cancelled:
            self.settle(stage_id, chunk_id, Status.cancelled, None)
            return
        except BaseException as exc:
            self.settle(stage_id, chunk_id, Status.failed, error_text(exc))
            log.exception("%s chunk %s of stage %s failed", self.kind, chunk_id, stage_id)
            raise
        self.settle(stage_id, chunk_id, Status.succeeded, None)

    def settle(self, stage_id: int, chunk_id: int, status: Status | None, error: str | None) -> None:
        """Record how a chunk ended (status None: this task never held it) and what that means for
        the stage: a failure fails it, a cancel ends it once nothing runs, the last success
        completes it."""
        with session_scope() as s:
            chunk = s.get_one(StageChunk, chunk_id)
            stage = s.execute(select(RunStage).where(RunStage.id == stage_id).with_for_update()).scalar_one()
            run = s.get_one(Run, stage.run_id)
            if status is not None:
                lifecycle.settle_chunk(s, chunk=chunk, status=status, error=error)
            if stage.status.finished:
                return
            if status == Status.failed:
                self.write_progress(s, stage=stage)
                lifecycle.finish_stage(s, stage=stage, run=run, status=Status.failed,
                                       error=f"chunk {chunk.index}: {error}")  # fmt: skip
                return
            states = Counter(c.status for c in lifecycle.chunks_of(s, stage_id=stage_id))
            if Status.cancelling in (stage.status, run.status):
                if not states[Status.running]:
                    self.write_progress(s, stage=stage)
                    lifecycle.finish_stage(s, stage=stage, run=run, status=Status.cancelled)
                return
            if states[Status.succeeded] == sum(states.values()):
                metrics = self.summarize(s, stage)
                cause = self.failure_of(s, stage, run, metrics) if self.failure_of else None
                if cause:
                    self.write_progress(s, stage=stage)
                    lifecycle.finish_stage(s, stage=stage, run=run, status=Status.failed, error=cause)
                    return
                lifecycle.complete_stage(s, stage=stage, run=run, metrics=metrics)

    def chunk_still_running(self, chunk_id: int) -> bool:
        with session_scope() as s:
            return s.get_one(StageChunk, chunk_id).status == Status.running

    def any_waiting(self, stage_id: int) -> bool:
        """Whether a chunk of the stage is still waiting for a task (pending or queued)."""
        with session_scope() as s:
            return (
                s.scalar(
                    select(StageChunk.id)
                    .where(
                        StageChunk.stage_id == stage_id,
                        StageChunk.status.in_([Status.pending, Status.queued]),
                    )
                    .limit(1)
                )  # fmt: skip
                is not None
            )
