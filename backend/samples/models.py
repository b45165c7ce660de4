"""Teacher generations and the verdicts verifiers pass on them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, BigId, JSONType, utcnow


class Generation(Base):
    __tablename__ = "generations"
    __table_args__ = (
        # Exactly-once: a retried task inserts with ON CONFLICT DO NOTHING on this key.
        UniqueConstraint("run_id", "prompt_id", "attempt"),
        Index("ix_generations_run_keyset", "run_id", "id"),
        # The sample browser's filters, each an equality on the run that keeps the id order.
        Index("ix_generations_run_accepted", "run_id", "accepted", "id"),
        Index("ix_generations_run_finish", "run_id", "finish_reason", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    prompt_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("prompts.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="ok")  # ok | failed
    reasoning: Mapped[str | None] = mapped_column(Text, default=None)
    content: Mapped[str | None] = mapped_column(Text, default=None)
    finish_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    prompt_tokens: Mapped[int | None] = mapped_column(default=None)
    completion_tokens: Mapped[int | None] = mapped_column(default=None)
    # the reasoning part's tokens: the server's count, else an estimate (teachers/base.reasoning_token_count)
    reasoning_tokens: Mapped[int | None] = mapped_column(default=None)
    latency_ms: Mapped[int | None] = mapped_column(default=None)
    # who wrote it (rollout.teachers routes prompts; null before migration 0036: the run's teacher).
    # No foreign key: the writer's bulk insert would look every row's teacher up (migration 0036).
    teacher_id: Mapped[int | None] = mapped_column(default=None)
    from_cache: Mapped[bool] = mapped_column(default=False)
    # The filter stage's decision (its verifiers combined): None until filtered, or when no verifier
    # could decide (timeout, error, a reference that does not parse).
    accepted: Mapped[bool | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Verdict(Base):
    """One verifier's verdict on one generation; a combination of several ("all"/"any") is a verdict
    of its own. status: passed | wrong | unparseable | timeout | error | reference_unparseable."""

    __tablename__ = "verdicts"
    __table_args__ = (
        UniqueConstraint("generation_id", "verifier", "verifier_version"),
        Index("ix_verdicts_generation", "generation_id"),
        Index("ix_verdicts_run_keyset", "run_id", "id"),
        # The sample browser: "this verifier passed / failed" in generation order, and the judge's
        # score range (read as a range, then sorted: a page never scans more than the matches).
        Index("ix_verdicts_run_verifier_passed", "run_id", "verifier", "passed", "generation_id"),
        Index("ix_verdicts_run_verifier_score", "run_id", "verifier", "score", "generation_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    generation_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("generations.id", ondelete="CASCADE"))
    verifier: Mapped[str] = mapped_column(String(64))
    verifier_version: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))
    passed: Mapped[bool | None] = mapped_column(default=None)  # None: the verifier could not decide
    score: Mapped[float | None] = mapped_column(Float, default=None)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    duration_ms: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
