"""The price table that turns token usage and GPU-seconds into dollars. Everyone signed in reads it;
admins edit it."""

from __future__ import annotations

from fastapi import APIRouter, status

from backend.api.deps import AdminUser, CurrentUser, SessionDep
from backend.core.ids import PathId
from backend.prices import service
from backend.prices.schemas import PriceIn, PriceOut

router = APIRouter(prefix="/prices", tags=["prices"])


@router.get("", operation_id="listPrices")
def list_prices(session: SessionDep, user: CurrentUser) -> list[PriceOut]:
    """Dollars per million input/output tokens per (provider, model); provider "local" prices a
    GPU-hour for vllm and transformers_local teachers. Model "*" is a provider's fallback."""
    return [PriceOut.model_validate(p) for p in service.list_prices(session)]


@router.put("", operation_id="putPrice")
def put_price(session: SessionDep, admin: AdminUser, body: PriceIn) -> PriceOut:
    """Create or replace the price of (provider, model)."""
    return PriceOut.model_validate(service.upsert_price(session, data=body))


@router.delete("/{price_id}", operation_id="deletePrice", status_code=status.HTTP_204_NO_CONTENT)
def delete_price(session: SessionDep, admin: AdminUser, price_id: PathId) -> None:
    service.delete_price(session, price_id=price_id)
