"""Accounts, for administrators: list, create or invite, deactivate and reactivate, grant or withdraw
administrator rights, reset a password (backend/users/admin.py). Every route here is 403 to others."""

from __future__ import annotations

from fastapi import APIRouter, status

from backend.api.deps import AdminUser, SessionDep
from backend.core.errors import Conflict
from backend.core.ids import PathId
from backend.users import admin
from backend.users.schemas import (
    AdminUserCreate,
    PasswordSet,
    ResetTokenOut,
    UserCreated,
    UserOut,
    UserUpdate,
)
from backend.users.service import create_user as create_account

router = APIRouter(prefix="/users", tags=["users"])
UserId = PathId


@router.get("", operation_id="listUsers")
def list_users(session: SessionDep, _: AdminUser) -> list[UserOut]:
    """Every account, active or not (administrators only)."""
    return [UserOut.model_validate(u) for u in admin.list_users(session)]


@router.post("", operation_id="createUser", status_code=status.HTTP_201_CREATED)
def create_user(session: SessionDep, _: AdminUser, body: AdminUserCreate) -> UserCreated:
    """Create an account (administrators only). With a password it can log in at once; without one it is
    an invitation: the answer carries a one-time reset token (shown here only) for the invitee to set
    their password at `POST /api/auth/reset-password`."""
    if body.password is not None:
        user = create_account(
            session, email=body.email, password=body.password, name=body.name, is_admin=body.is_admin
        )
        return UserCreated.model_validate(user)
    user, row, token = admin.invite_user(session, email=body.email, name=body.name, is_admin=body.is_admin)
    out = UserOut.model_validate(user).model_dump()
    return UserCreated(**out, reset_token=token, reset_expires_at=row.expires_at)


@router.patch("/{user_id}", operation_id="updateUser")
def update_user(session: SessionDep, _: AdminUser, user_id: UserId, body: UserUpdate) -> UserOut:
    """Deactivate (`is_active: false`: every token of the account stops working at once, its login
    sessions are revoked) or reactivate, grant or withdraw administrator rights, rename. 409
    `last_admin` for the last active administrator's deactivation or demotion, their own included."""
    user = admin.get_user(session, user_id)
    admin.update_user(session, user=user, is_active=body.is_active, is_admin=body.is_admin, name=body.name)
    return UserOut.model_validate(user)


@router.post("/{user_id}/password", operation_id="resetUserPassword")
def reset_password(session: SessionDep, _: AdminUser, user_id: UserId, body: PasswordSet) -> ResetTokenOut:
    """Set a new password (`password`), or, without one, issue a one-time reset token for the user (shown
    in this answer only; an earlier unused one stops working). A password set either way ends the
    account's login sessions. 409 `user_inactive` for a token to a deactivated account."""
    user = admin.get_user(session, user_id)
    if body.password is not None:
        admin.set_password(session, user=user, password=body.password)
        return ResetTokenOut()
    if not user.is_active:
        raise Conflict(f"{user.email} is deactivated; reactivate it first", code="user_inactive")
    row, token = admin.issue_reset(session, user=user)
    return ResetTokenOut(reset_token=token, reset_expires_at=row.expires_at)
