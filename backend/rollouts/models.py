"""The response cache: identical requests are answered from an earlier generation, never paid twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, utcnow


class ResponseCache(Base):
    """Key (project, endpoint, model, sampling, prompt hash, attempt) -> the generation that answered it.

    Points at the generation instead of copying its text; deleting that run drops its entries."""

    __tablename__ = "response_cache"
    __table_args__ = (Index("ix_response_cache_generation", "generation_id"),)

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    generation_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("generations.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
