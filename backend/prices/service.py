"""Prices: the editable price table, and the quote that applies to one teacher."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core.errors import NotFound
from backend.prices.models import Price
from backend.prices.schemas import PriceIn
from backend.teachers.models import Teacher
from backend.teachers.schemas import runs_locally

# Hosts of the providers the price table knows by name; any other endpoint is "custom".
PROVIDER_HOSTS = {
    "api.openai.com": "openai",
    "api.together.xyz": "together",
    "api.deepseek.com": "deepseek",
    "api.fireworks.ai": "fireworks",
    "openrouter.ai": "openrouter",
    "api.anthropic.com": "anthropic",
    "generativelanguage.googleapis.com": "google",
}


def provider_of(teacher: Teacher) -> str:
    """'local' for vllm and transformers_local without an endpoint, else the API's provider name."""
    if runs_locally(teacher.backend, teacher.base_url):
        return "local"
    host = (urlparse(teacher.base_url or "").hostname or "").lower()
    return PROVIDER_HOSTS.get(host, "custom")


@dataclass(frozen=True)
class Quote:
    """Prices that apply to one teacher, and where they came from."""

    input_per_m: float
    output_per_m: float
    gpu_hour: float
    source: str

    def cost(self, *, prompt_tokens: int, completion_tokens: int, gpu_seconds: float) -> float:
        return (
            prompt_tokens * self.input_per_m / 1e6
            + completion_tokens * self.output_per_m / 1e6
            + gpu_seconds * self.gpu_hour / 3600
        )

    def batched(self, share: float) -> Quote:
        """The token prices of a provider's batch API: `share` of the online ones (GPU time is ours)."""
        return Quote(
            self.input_per_m * share, self.output_per_m * share, self.gpu_hour,
            f"{self.source}, batch at {share:g} of it",
        )  # fmt: skip

    def as_dict(self) -> dict[str, Any]:
        return {
            "input_per_m": self.input_per_m,
            "output_per_m": self.output_per_m,
            "gpu_hour": self.gpu_hour,
            "source": self.source,
        }


def rollout_quote(session: Session, *, teacher: Teacher, settings: Any) -> Quote | None:
    """What a rollout with these RolloutSettings pays: quote_for, at the batch share in batch mode. The
    estimate and the stage's cost both read it, so they agree."""
    quote = quote_for(session, teacher=teacher)
    if quote is not None and settings.mode == "batch":
        return quote.batched(settings.batch_price_share)
    return quote


def quote_for(session: Session, *, teacher: Teacher) -> Quote | None:
    """The teacher's own prices (settings price_input_per_m / price_output_per_m / gpu_hour) or the
    price table's row for (provider, model), then (provider, "*"); None when nothing is known."""
    s = teacher.settings or {}
    if any(k in s for k in ("price_input_per_m", "price_output_per_m", "gpu_hour")):
        return Quote(
            float(s.get("price_input_per_m", 0)),
            float(s.get("price_output_per_m", 0)),
            float(s.get("gpu_hour", 0)),
            "teacher settings",
        )
    provider = provider_of(teacher)
    for model in (teacher.model, "*"):
        row = session.scalar(select(Price).where(Price.provider == provider, Price.model == model))
        if row is not None:
            return Quote(row.input_per_m, row.output_per_m, row.gpu_hour, f"price table {provider}/{model}")
    return None


def list_prices(session: Session) -> list[Price]:
    """The whole price table, by provider and model."""
    return list(session.scalars(select(Price).order_by(Price.provider, Price.model)))


def upsert_price(session: Session, *, data: PriceIn) -> Price:
    """Create or replace the price of (provider, model)."""
    row = session.scalar(select(Price).where(Price.provider == data.provider, Price.model == data.model))
    if row is None:
        row = Price(provider=data.provider, model=data.model)
        session.add(row)
    for field in ("input_per_m", "output_per_m", "gpu_hour", "note"):
        setattr(row, field, getattr(data, field))
    session.flush()
    return row


def delete_price(session: Session, *, price_id: int) -> None:
    """Remove one row of the price table, or 404."""
    row = session.get(Price, price_id)
    if row is None:
        raise NotFound(f"price {price_id} not found")
    session.delete(row)
    session.flush()
