"""Experiments: runs compared on one evaluation set (kind compare), or the pressure test (kind pressure:
one evaluate-only run of the base student and the teacher, read as a verdict)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, JSONType, utcnow


class Experiment(Base):
    __tablename__ = "experiments"
    __table_args__ = (Index("ix_experiments_project_name", "project_id", "name", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="compare")  # compare | pressure
    prompt_set_id: Mapped[int | None] = mapped_column(ForeignKey("prompt_sets.id", ondelete="SET NULL"))
    # the evaluation set every run shares: {prompt_set_id, split, max_prompts} (factors.eval_set)
    eval_set: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # run ids in table order; JSON, not a link table: the list is read and written whole, and a deleted
    # run is skipped on read
    run_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # the pressure test's margin...
    auto: Mapped[bool] = mapped_column(default=False)  # derived from runs sharing a prompt set
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
