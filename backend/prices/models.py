"""The price table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, BigId, utcnow


class Price(Base):
    """Editable price table: dollars per million tokens for an API model, or per GPU-hour for a local
    teacher (provider "local"). model "*" is the provider's fallback."""

    __tablename__ = "prices"
    __table_args__ = (UniqueConstraint("provider", "model"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    provider: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(300))
    input_per_m: Mapped[float] = mapped_column(Float, default=0.0)
    output_per_m: Mapped[float] = mapped_column(Float, default=0.0)
    gpu_hour: Mapped[float] = mapped_column(Float, default=0.0)
    note: Mapped[str] = mapped_column(String(300), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
