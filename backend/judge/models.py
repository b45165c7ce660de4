"""Rubrics (one versioned prompt per project) and the judge's reply cache."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, utcnow


class Rubric(Base):
    """A version of a project's judging prompt; versions are immutable once created."""

    __tablename__ = "rubrics"
    __table_args__ = (UniqueConstraint("project_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column()
    template: Mapped[str] = mapped_column(Text)
    scale: Mapped[str] = mapped_column(String(16))  # score | pass_fail
    scale_min: Mapped[float] = mapped_column(Float, default=0.0)
    scale_max: Mapped[float] = mapped_column(Float, default=1.0)
    pass_score: Mapped[float] = mapped_column(Float, default=1.0)  # accepted at or above, uncalibrated
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class JudgeCache(Base):
    """Key (project, endpoint, model, sampling, rendered rubric) -> the judge's raw reply: the same
    request is answered from here and never paid twice."""

    __tablename__ = "judge_cache"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    content: Mapped[str] = mapped_column(Text)
    prompt_tokens: Mapped[int | None] = mapped_column(default=None)
    completion_tokens: Mapped[int | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
