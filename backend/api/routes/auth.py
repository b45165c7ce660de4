from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, status

from backend.api.deps import CurrentUser, SessionDep
from backend.core.config import get_settings
from backend.core.errors import Forbidden, Unauthorized
from backend.users import admin, service, throttle
from backend.users.schemas import LoginIn, PasswordResetIn, SignupIn, TokenOut, UserOut

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


@router.post("/auth/reset-password", operation_id="resetPassword", status_code=status.HTTP_204_NO_CONTENT)
def reset_password(session: SessionDep, body: PasswordResetIn) -> None:
    """Set a password with the one-time token an administrator issued (an invitation or a reset); the
    token is then spent and the account's login sessions end. 401 `invalid_reset_token` for an unknown,
    used or expired token, or a deactivated account's."""
    admin.use_reset(session, token=body.token, password=body.password)


@router.get("/users/me", operation_id="getCurrentUser")
def me(user: CurrentUser) -> UserOut:
    """The caller's account."""
    return UserOut.model_validate(user)
