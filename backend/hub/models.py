"""A project's Hub settings (endpoint, the write-only token) and the pushes made from it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, utcnow

DEFAULT_ENDPOINT = "https://huggingface.co"


class HubSettings(Base):
    """One row per project that configured the Hub; none means the default endpoint and no token."""

    __tablename__ = "hub_settings"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(500), default=DEFAULT_ENDPOINT)
    # Fernet ciphertext, as teachers' API keys: never leaves the server in a response or a log line
    token_encrypted: Mapped[str | None] = mapped_column(Text, default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class HubPush(Base):
    """A snapshot or model pushed (or being pushed) to one repository. A push of the same thing to the
    same repository again reuses the row: the latest job, URL and commit win."""

    __tablename__ = "hub_pushes"
    __table_args__ = (UniqueConstraint("project_id", "kind", "object_id", "repo_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # snapshot | model
    object_id: Mapped[int] = mapped_column()  # the snapshot's or the model artifact's id
    repo_id: Mapped[str] = mapped_column(String(200))
    private: Mapped[bool] = mapped_column(default=True)
    endpoint: Mapped[str] = mapped_column(String(500))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"), default=None)
    url: Mapped[str | None] = mapped_column(String(1000), default=None)
    commit: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    pushed_at: Mapped[datetime | None] = mapped_column(default=None)
