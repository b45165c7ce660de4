"""Accounts, logins and tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import String, bindparam, select, update
from sqlalchemy.orm import Session

from backend.core.errors import Conflict, NotFound, Unauthorized
from backend.core.security import (
    hash_password,
    hash_token,
    new_token,
    verify_password,
    verify_password_of_nobody,
)
from backend.users.models import ApiToken, User


def get_by_email(session: Session, *, email: str) -> User | None:
    """Look a user up by email, case-insensitively."""
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def create_user(
    session: Session, *, email: str, password: str, name: str = "", is_admin: bool = False
) -> User:
    """Create an account; 409 when the email is taken."""
    if get_by_email(session, email=email):
        raise Conflict(f"a user with email {email!r} already exists", code="email_taken")
    user = User(
        email=email.strip().lower(), name=name, password_hash=hash_password(password), is_admin=is_admin
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, *, email: str, password: str) -> User:
    """Check a password; the same error whether the email or the password was wrong."""
    user = get_by_email(session, email=email)
    ok = verify_password(password, user.password_hash) if user else verify_password_of_nobody(password)
    if user is None or not user.is_active or not ok:
        raise Unauthorized("email or password is wrong", code="bad_credentials")
    return user


def issue_token(
    session: Session, *, user: User, kind: str, name: str, ttl: timedelta | None
) -> tuple[ApiToken, str]:
    """Store the hash of a new token; returns the row and the plaintext to show once."""
    plaintext = new_token()
    row = ApiToken(
        user_id=user.id,
        name=name,
        kind=kind,
        prefix=plaintext[:10],
        token_hash=hash_token(plaintext),
        expires_at=(datetime.now(UTC) + ttl) if ttl else None,
    )
    session.add(row)
    session.flush()
    return row, plaintext


# One round trip for the token and its user: every request pays for this lookup, so the statement is
# built once (building it, and its cache key, cost more than running it). Its rows start (token, user);
# the project routes' lookup adds its own columns to it (backend/api/deps.py), one round trip for all.
TOKEN_AND_USER = (
    select(ApiToken, User)
    .join(User, User.id == ApiToken.user_id)
    .where(ApiToken.token_hash == bindparam("token_hash", type_=String))
)


BEARER_KINDS = ("session", "personal")


def token_params(token: str) -> dict[str, str]:
    """TOKEN_AND_USER's parameters for a bearer token."""
    return {"token_hash": hash_token(token)}


def resolve_token(session: Session, *, token: str) -> User:
    """The active user a bearer token belongs to, or 401."""
    found = session.execute(TOKEN_AND_USER, token_params(token)).first()
    return user_of_token(*(found or (None, None)))


def token_refusal(row: Any, user: Any, now: datetime) -> Unauthorized | None:
    """Why a token row (its kind, revoked_at, expires_at) and its user (is_active) do not authenticate
    (None: they do). Read as attributes, so ORM rows and the plain columns of the lists' fast path
    (backend/api/hot_lists.py) go through the same checks."""
    # a password-reset token (backend/users/admin.py) sets a password once; it never authenticates
    if row is None or row.revoked_at is not None or row.kind not in BEARER_KINDS:
        return Unauthorized("invalid or revoked token", code="invalid_token")
    if row.expires_at is not None and row.expires_at <= now:
        return Unauthorized("token expired", code="token_expired")
    if user is None or not user.is_active:
        return Unauthorized("invalid or revoked token", code="invalid_token")
    return None


def use_to_note(last_used_at: datetime | None, now: datetime) -> bool:
    """Whether a token's use is written now: at most once a minute, so reads stay cheap."""
    return last_used_at is None or now - last_used_at > timedelta(minutes=1)


def user_of_token(row: ApiToken | None, user: User | None) -> User:
    """The user of a token row TOKEN_AND_USER found (None: none), or 401; notes the token's use."""
    now = datetime.now(UTC)
    refusal = token_refusal(row, user, now)
    if refusal is not None:
        raise refusal
    assert row is not None and user is not None  # token_refusal refuses a missing one
    if use_to_note(row.last_used_at, now):
        row.last_used_at = now
    return user


def list_personal_tokens(session: Session, *, user: User) -> list[ApiToken]:
    """A user's personal tokens, newest first, revoked ones included."""
    stmt = select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.kind == "personal")
    return list(session.scalars(stmt.order_by(ApiToken.id.desc())))


def revoke_token(session: Session, *, user: User, token_id: int) -> ApiToken:
    """Revoke one of the caller's tokens; another user's token is a 404."""
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound(f"token {token_id} not found")
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
    return row


def revoke_sessions(session: Session, *, user: User) -> None:
    """Revoke every login session of a user; personal tokens keep working."""
    session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.kind == "session", ApiToken.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
