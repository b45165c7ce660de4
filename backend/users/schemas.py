from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field


class LoginIn(BaseModel):
    email: EmailStr
    password: str = Field(min_length=1, max_length=1024)


class SignupIn(BaseModel):
    email: EmailStr
    password: str = Field(min_length=8, max_length=1024)
    name: str = Field("", max_length=200)


class UserCreate(SignupIn):
    is_admin: bool = False


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    name: str
    is_admin: bool
    is_active: bool
    created_at: datetime


class AdminUserCreate(BaseModel):
    """An administrator's new account: with a password, or without one (an invitation: the answer
    carries a one-time reset token with which the invitee sets their own)."""

    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    name: str = Field("", max_length=200)
    is_admin: bool = False
    password: str | None = Field(None, min_length=8, max_length=1024)


class ResetTokenOut(BaseModel):
    """A one-time password-reset token: shown in this response only, never retrievable again."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    reset_token: str | None = Field(None, description="Absent when a password was set directly.")
    reset_expires_at: datetime | None = None


class UserCreated(UserOut, ResetTokenOut):
    pass


class UserUpdate(BaseModel):
    """What an administrator changes on an account; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    is_active: bool | None = None
    is_admin: bool | None = None
    name: str | None = Field(None, max_length=200)


class PasswordSet(BaseModel):
    """A new password for the account, or none: then a one-time reset token comes back."""

    model_config = ConfigDict(extra="forbid")

    password: str | None = Field(None, min_length=8, max_length=1024)


class PasswordResetIn(BaseModel):
    token: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=8, max_length=1024)


class TokenOut(BaseModel):
    """The bearer token itself: shown once, never retrievable again."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    access_token: str
    token_type: str = "bearer"
    expires_at: datetime | None
    user: UserOut


class ApiTokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    expires_in_days: int | None = Field(None, ge=1, le=3650)


class ApiTokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiTokenCreated(ApiTokenOut):
    token: str = Field(description="The secret; shown in this response only.")
