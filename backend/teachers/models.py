"""Teacher endpoints: the large models that write the attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, JSONType, utcnow


class Teacher(Base):
    __tablename__ = "teachers"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    backend: Mapped[str] = mapped_column(String(32))  # openai_compat | vllm | transformers_local
    model: Mapped[str] = mapped_column(String(300))  # what the user typed, e.g. Qwen/Qwen2.5-7B-Instruct
    base_url: Mapped[str | None] = mapped_column(String(500), default=None)
    # Fernet ciphertext of the API key; never leaves the server in a response or a log line.
    api_key_encrypted: Mapped[str | None] = mapped_column(Text, default=None)
    licence: Mapped[str] = mapped_column(String(32), default="open_weights")
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # The last speed probe (backend/teachers/schemas.TeacherProbe as JSON), written by the teacher_probe
    # job; cleared when what it measured changes (model, endpoint, key, settings).
    probe: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
