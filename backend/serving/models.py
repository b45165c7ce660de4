"""Served models: a trained student behind a vLLM server a gpu worker holds, registered as a teacher.

The row says what is served (an artifact, its extra LoRA adapters, the vLLM settings) and where it
answers (base_url, the server's pid and host); its life (queued, running, stopping, ended, the
heartbeat and the error) is its `serve` job's, so the job life cycle, heartbeats and the janitor's
lost-worker check carry it unchanged (backend/serving/service.py derives the status).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, JSONType, utcnow


class ServedModel(Base):
    __tablename__ = "served_models"
    __table_args__ = (Index("ix_served_models_project_keyset", "project_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    artifact_id: Mapped[int | None] = mapped_column(ForeignKey("model_artifacts.id", ondelete="SET NULL"))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    # the teacher row that makes the endpoint usable by runs; removed when the server stops
    teacher_id: Mapped[int | None] = mapped_column(ForeignKey("teachers.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(200))  # the served model name (and the teacher's name)
    # [{"name", "artifact_id"}]: LoRA adapters on the same base (the first is the artifact's own)
    adapters: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # the vllm teacher settings
    base_url: Mapped[str | None] = mapped_column(String(500), default=None)
    pid: Mapped[int | None] = mapped_column(default=None)
    host: Mapped[str | None] = mapped_column(String(300), default=None)
    stop_reason: Mapped[str | None] = mapped_column(String(500), default=None)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
