"""Human decisions on generations, with what changed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, BigId, JSONType, utcnow


class Review(Base):
    __tablename__ = "reviews"
    __table_args__ = (Index("ix_reviews_generation", "generation_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    generation_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("generations.id", ondelete="CASCADE"))
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decision: Mapped[str] = mapped_column(String(16))  # accept | reject | edit
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
