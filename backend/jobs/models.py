"""Jobs: long operations outside a run (imports, cleaning, synthesis), polled by id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, JSONType, utcnow
from backend.runs.models import Status, StatusType


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_project_keyset", "project_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[Status] = mapped_column(StatusType, default=Status.queued)
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    progress_done: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int | None] = mapped_column(default=None)
    result: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # {"code", "message", "details"?}: the same shape as an API error, so clients show it the same way
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    task_id: Mapped[str | None] = mapped_column(String(64), default=None)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(default=None)
