"""Account administration: the users page's list, deactivate and reactivate, administrator rights,
password resets (a new password set by an administrator, or a one-time reset token handed to the user).

A reset token is an `api_tokens` row of kind `reset` (only its hash kept, like every token), so it
needs no table of its own; `service.user_of_token` refuses it as a bearer token. Using it sets the
password, spends it, and ends the account's login sessions. A deactivated account is refused by every
token at once (`user_of_token` reads `is_active` on each request); its sessions and reset tokens are
also revoked, so reactivating it revives none of them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.core.config import get_settings
from backend.core.errors import Conflict, NotFound, Unauthorized
from backend.core.security import hash_password, hash_token, new_token
from backend.users.models import ApiToken, User
from backend.users.service import create_user, issue_token, revoke_sessions

RESET = "reset"


def list_users(session: Session) -> list[User]:
    """Every account, oldest first (an installation has people, not millions: no pages)."""
    return list(session.scalars(select(User).order_by(User.id)))


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found", code="user_not_found")
    return user


def _revoke_resets(session: Session, user: User) -> None:
    session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.kind == RESET, ApiToken.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )


def issue_reset(session: Session, *, user: User) -> tuple[ApiToken, str]:
    """A one-time reset token (the plaintext is returned once); earlier unused ones stop working, so
    only the newest link an administrator handed out is live."""
    _revoke_resets(session, user)
    ttl = timedelta(hours=get_settings().reset_token_ttl_hours)
    return issue_token(session, user=user, kind=RESET, name="password reset", ttl=ttl)


def invite_user(session: Session, *, email: str, name: str, is_admin: bool) -> tuple[User, ApiToken, str]:
    """An account with no usable password and a reset token with which its owner sets one."""
    # A random password's hash, not an invalid marker: a login on this account costs what any other
    # login does, so timing does not tell that it has no password yet.
    user = create_user(session, email=email, password=new_token(), name=name, is_admin=is_admin)
    row, token = issue_reset(session, user=user)
    return user, row, token


def _other_active_admins(session: Session, user: User) -> int:
    # Every active administrator's row locked in one statement, the target's included: two administrators
    # demoting each other at once take turns, and the second sees the first's change (PostgreSQL re-checks
    # a locked row's WHERE once its lock is released). Locking only the others' rows let each lock one
    # row and then wait for the other's: a deadlock, answered 500.
    ids = session.scalars(
        select(User.id).where(User.is_admin.is_(True), User.is_active.is_(True)).with_for_update()
    ).all()
    return len([i for i in ids if i != user.id])


def update_user(
    session: Session, *, user: User, is_active: bool | None, is_admin: bool | None, name: str | None
) -> User:
    """Deactivate or reactivate, grant or withdraw administrator rights, rename. The last active
    administrator can be neither deactivated nor demoted (409 `last_admin`): nobody could undo it."""
    losing_admin = user.is_admin and user.is_active and (is_active is False or is_admin is False)
    if losing_admin and _other_active_admins(session, user) == 0:
        raise Conflict(
            f"{user.email} is the last active administrator; make another one first", code="last_admin"
        )
    if name is not None:
        user.name = name
    if is_admin is not None:
        user.is_admin = is_admin
    if is_active is not None and is_active != user.is_active:
        user.is_active = is_active
        if not is_active:
            revoke_sessions(session, user=user)
            _revoke_resets(session, user)
    session.flush()
    return user


def set_password(session: Session, *, user: User, password: str) -> None:
    """A new password; every login session and unused reset token of the account ends."""
    user.password_hash = hash_password(password)
    revoke_sessions(session, user=user)
    _revoke_resets(session, user)


def use_reset(session: Session, *, token: str, password: str) -> User:
    """Set the password with a reset token, which is then spent. One answer (401 `invalid_reset_token`)
    for an unknown, used, expired or deactivated account's token: it tells a guesser nothing."""
    row = session.scalar(
        select(ApiToken)
        .where(ApiToken.token_hash == hash_token(token), ApiToken.kind == RESET)
        .with_for_update()
    )
    user = session.get(User, row.user_id) if row is not None else None
    now = datetime.now(UTC)
    if (
        row is None
        or user is None
        or not user.is_active
        or row.revoked_at is not None
        or (row.expires_at is not None and row.expires_at <= now)
    ):
        raise Unauthorized("this reset link is invalid, used or expired", code="invalid_reset_token")
    set_password(session, user=user, password=password)  # which spends this token with the others
    return user
