"""Runs (one pass through the pipeline with a frozen recipe) and their stages."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Enum, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, JSONType, utcnow


class Status(enum.StrEnum):
    pending = "pending"
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelling = "cancelling"
    cancelled = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (Status.succeeded, Status.failed, Status.cancelled)


StatusType = Enum(Status, name="status", native_enum=False, length=16)


class Run(Base):
    __tablename__ = "runs"
    __table_args__ = (Index("ix_runs_project_keyset", "project_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    recipe: Mapped[dict[str, Any]] = mapped_column(JSONType)  # full, versioned copy of every setting
    recipe_version: Mapped[int] = mapped_column(default=1)
    # Never NULL: every recipe names its prompt set, and RESTRICT keeps it while the run exists; the
    # column allows NULL only because migration 0001 made it so (nullable=True keeps the schema as is).
    prompt_set_id: Mapped[int] = mapped_column(
        ForeignKey("prompt_sets.id", ondelete="RESTRICT"), nullable=True
    )
    teacher_id: Mapped[int | None] = mapped_column(ForeignKey("teachers.id", ondelete="SET NULL"))
    status: Mapped[Status] = mapped_column(StatusType, default=Status.pending)
    summary: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    warnings: Mapped[list[str]] = mapped_column(JSONType, default=list)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class RunStage(Base):
    """One stage of a run; also the 'job' that long operations hand back as job_id."""

    __tablename__ = "run_stages"
    __table_args__ = (UniqueConstraint("run_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column()
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[Status] = mapped_column(StatusType, default=Status.pending)
    progress_done: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int | None] = mapped_column(default=None)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    task_id: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(default=None)
    # Seconds spent running in earlier segments (before a re-queue or a redelivery); elapsed time is
    # this plus the current segment (lifecycle.running_seconds).
    elapsed_before_s: Mapped[float] = mapped_column(default=0.0, server_default="0")
    # Times this stage's worker was lost (a stale heartbeat, a redelivered task); past
    # DISTILLERY_MAX_REQUEUES the stage fails. A manual re-queue starts the count again.
    workers_lost: Mapped[int] = mapped_column(default=0, server_default="0")

    def running_seconds(self, now: datetime | None = None) -> float:
        """Seconds this stage has run, over every segment (re-queues and redeliveries included)."""
        current = 0.0
        if self.status in (Status.running, Status.cancelling) and self.started_at:
            current = max(((now or datetime.now(UTC)) - self.started_at).total_seconds(), 0.0)
        return (self.elapsed_before_s or 0.0) + current


class StageChunk(Base):
    """A slice of a fan-out stage's work (by prompt position) that one Celery task does.

    Chunks are planned once per stage; a re-queue re-sends the unfinished ones. `counters` holds what
    the chunk's latest attempt did, summed into the stage's metrics (the stage's own rows, such as
    generations, stay the truth): numbers add up, and a dict of numbers adds up key by key."""

    __tablename__ = "stage_chunks"
    __table_args__ = (UniqueConstraint("stage_id", "index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("run_stages.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column()
    first_position: Mapped[int] = mapped_column(BigInteger)
    last_position: Mapped[int] = mapped_column(BigInteger)
    items: Mapped[int] = mapped_column()
    status: Mapped[Status] = mapped_column(StatusType, default=Status.pending)
    task_id: Mapped[str | None] = mapped_column(String(64), default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(default=None)
    counters: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    # a rollout chunk's provider batch in batch mode (workers/teachers/openai_batch.py): nonce, file, batch id
    batch: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
