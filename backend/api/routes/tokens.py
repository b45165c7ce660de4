from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, status

from backend.api.deps import CurrentUser, SessionDep
from backend.core.ids import PathId
from backend.users import service
from backend.users.schemas import ApiTokenCreate, ApiTokenCreated, ApiTokenOut

router = APIRouter(prefix="/tokens", tags=["tokens"])


@router.get("", operation_id="listTokens")
def list_tokens(session: SessionDep, user: CurrentUser) -> list[ApiTokenOut]:
    """The caller's personal API tokens (never their secrets)."""
    return [ApiTokenOut.model_validate(t) for t in service.list_personal_tokens(session, user=user)]


@router.post("", operation_id="createToken", status_code=status.HTTP_201_CREATED)
def create_token(session: SessionDep, user: CurrentUser, body: ApiTokenCreate) -> ApiTokenCreated:
    """Create a personal token for automation; the secret is in this response only."""
    ttl = timedelta(days=body.expires_in_days) if body.expires_in_days else None
    row, token = service.issue_token(session, user=user, kind="personal", name=body.name, ttl=ttl)
    return ApiTokenCreated(**ApiTokenOut.model_validate(row).model_dump(), token=token)


@router.delete("/{token_id}", operation_id="revokeToken", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(session: SessionDep, user: CurrentUser, token_id: PathId) -> None:
    """Revoke a personal token; it stops working at once."""
    service.revoke_token(session, user=user, token_id=token_id)
