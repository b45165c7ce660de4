from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, status

from backend.api.deps import AdminUser, CurrentUser, SessionDep
from backend.core.config import get_settings
from backend.core.errors import Forbidden, Unauthorized
from backend.users import service, throttle
from backend.users.schemas import LoginIn, SignupIn, TokenOut, UserCreate, UserOut

router = APIRouter(tags=["auth"])


@router.post("/auth/login", operation_id="login")
def login(session: SessionDep, body: LoginIn, request: Request) -> TokenOut:
    """Trade email and password for a bearer token. Repeated failures for one account or from one
    address are slowed down: 429 with Retry-After (see backend/users/throttle.py)."""
    attempt = throttle.keys(body.email, request.client.host if request.client else None)
    throttle.check(session, attempt)
    try:
        user = service.authenticate(session, email=body.email, password=body.password)
    except Unauthorized:
        throttle.record_failure(attempt)
        raise
    throttle.clear_account(session, body.email)
    ttl = timedelta(hours=get_settings().session_ttl_hours)
    row, token = service.issue_token(session, user=user, kind="session", name="login", ttl=ttl)
    return TokenOut(access_token=token, expires_at=row.expires_at, user=UserOut.model_validate(user))


@router.post("/auth/logout", operation_id="logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(session: SessionDep, user: CurrentUser) -> None:
    """Revoke every login session of the caller (personal tokens stay)."""
    service.revoke_sessions(session, user=user)


@router.post("/auth/signup", operation_id="signup", status_code=status.HTTP_201_CREATED)
def signup(session: SessionDep, body: SignupIn) -> UserOut:
    """Create an account, where DISTILLERY_ALLOW_SIGNUP is on."""
    if not get_settings().allow_signup:
        raise Forbidden("sign-up is disabled; ask an administrator for an account", code="signup_disabled")
    return UserOut.model_validate(
        service.create_user(session, email=body.email, password=body.password, name=body.name)
    )


@router.get("/users/me", operation_id="getCurrentUser")
def me(user: CurrentUser) -> UserOut:
    """The caller's account."""
    return UserOut.model_validate(user)


@router.post("/users", operation_id="createUser", status_code=status.HTTP_201_CREATED)
def create_user(session: SessionDep, _: AdminUser, body: UserCreate) -> UserOut:
    """Create an account (administrators only)."""
    user = service.create_user(
        session, email=body.email, password=body.password, name=body.name, is_admin=body.is_admin
    )
    return UserOut.model_validate(user)
