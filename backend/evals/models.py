"""Evaluations: a model scored by the verifiers on held-out prompts, and what it answered."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, BigId, JSONType, utcnow


class Evaluation(Base):
    """One model's scores in one evaluate stage (its metrics are a ModelScore)."""

    __tablename__ = "evaluations"
    # one row per model of a stage: a stage that runs again replaces its rows (workers/stages/evaluate.py)
    __table_args__ = (Index("ix_evaluations_stage_label", "stage_id", "label", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    stage_id: Mapped[int | None] = mapped_column(
        ForeignKey("run_stages.id", ondelete="CASCADE"), default=None
    )
    artifact_id: Mapped[int | None] = mapped_column(ForeignKey("model_artifacts.id", ondelete="SET NULL"))
    label: Mapped[str] = mapped_column(String(100), default="")
    model: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(16))  # student | base | teacher | other
    # a training checkpoint's step (evaluate.checkpoints); None for a model
    step: Mapped[int | None] = mapped_column(default=None)
    prompt_set_id: Mapped[int | None] = mapped_column(ForeignKey("prompt_sets.id", ondelete="SET NULL"))
    verifier: Mapped[str] = mapped_column(String(64))
    config: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    config_hash: Mapped[str] = mapped_column(String(64), default="")
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EvalSample(Base):
    """One answer of one model to one held-out prompt, with its verdict."""

    __tablename__ = "eval_samples"
    __table_args__ = (
        UniqueConstraint("evaluation_id", "prompt_id", "sample"),
        Index("ix_eval_samples_keyset", "evaluation_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluations.id", ondelete="CASCADE"))
    prompt_id: Mapped[int] = mapped_column(BigInteger)
    sample: Mapped[int] = mapped_column()
    content: Mapped[str | None] = mapped_column(Text, default=None)
    reasoning: Mapped[str | None] = mapped_column(Text, default=None)
    finish_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    completion_tokens: Mapped[int | None] = mapped_column(default=None)
    answer: Mapped[str | None] = mapped_column(Text, default=None)
    status: Mapped[str] = mapped_column(String(32))  # the verdict's status
    passed: Mapped[bool | None] = mapped_column(default=None)


class BenchmarkResult(Base):
    """One model's scores on one lm-evaluation-harness task in one benchmark stage (a re-run replaces
    them), beside the in-task evaluations of the same run."""

    __tablename__ = "benchmark_results"
    __table_args__ = (
        Index("ix_benchmark_results_stage_label_task", "stage_id", "label", "task", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    stage_id: Mapped[int | None] = mapped_column(
        ForeignKey("run_stages.id", ondelete="CASCADE"), default=None
    )
    artifact_id: Mapped[int | None] = mapped_column(ForeignKey("model_artifacts.id", ondelete="SET NULL"))
    label: Mapped[str] = mapped_column(String(100), default="")
    role: Mapped[str] = mapped_column(String(16))
    model: Mapped[str] = mapped_column(String(300))
    task: Mapped[str] = mapped_column(String(200))
    suite: Mapped[str] = mapped_column(String(1000))
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    samples: Mapped[int] = mapped_column(default=0)
    lm_eval_version: Mapped[str] = mapped_column(String(32))
    config: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    config_hash: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
