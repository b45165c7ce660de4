"""Rollout bookkeeping: the chunks a rollout stage is cut into, the response cache, the price table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, BigId, JSONType, utcnow
from backend.runs.models import Status, StatusType


class RolloutChunk(Base):
    """A slice of the prompt set (by position) that one Celery task generates; its counters feed the
    stage's progress. Chunks are planned once per stage; a re-queue re-sends the unfinished ones."""

    __tablename__ = "rollout_chunks"
    __table_args__ = (UniqueConstraint("stage_id", "index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("run_stages.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column()
    first_position: Mapped[int] = mapped_column(BigInteger)
    last_position: Mapped[int] = mapped_column(BigInteger)
    prompts: Mapped[int] = mapped_column()
    status: Mapped[Status] = mapped_column(StatusType, default=Status.pending)
    task_id: Mapped[str | None] = mapped_column(String(64), default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(default=None)
    # Counters of what this chunk wrote in its latest attempt (generations themselves are the truth).
    done: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    truncated: Mapped[int] = mapped_column(default=0)
    cached: Mapped[int] = mapped_column(default=0)
    prompt_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    completion_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    gpu_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    failures: Mapped[dict[str, int]] = mapped_column(JSONType, default=dict)
    error: Mapped[str | None] = mapped_column(Text, default=None)


class ResponseCache(Base):
    """Key (project, endpoint, model, sampling, prompt hash, attempt) -> the generation that answered it.

    Points at the generation instead of copying its text; deleting that run drops its entries."""

    __tablename__ = "response_cache"
    __table_args__ = (Index("ix_response_cache_generation", "generation_id"),)

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    generation_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("generations.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Price(Base):
    """Editable price table: dollars per million tokens for an API model, or per GPU-hour for a local
    teacher (provider "local"). model "*" is the provider's fallback."""

    __tablename__ = "prices"
    __table_args__ = (UniqueConstraint("provider", "model"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    provider: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(300))
    input_per_m: Mapped[float] = mapped_column(Float, default=0.0)
    output_per_m: Mapped[float] = mapped_column(Float, default=0.0)
    gpu_hour: Mapped[float] = mapped_column(Float, default=0.0)
    note: Mapped[str] = mapped_column(String(300), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
