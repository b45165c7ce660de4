from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from backend.projects.models import InvitationStatus, Role


class ProjectCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=10_000)


class ProjectUpdate(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=10_000)


class ProjectOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    slug: str = Field(description="Unique in the installation and stable: a rename keeps it.")
    description: str
    created_at: datetime
    role: Role | None = Field(None, description="The caller's role in this project.")


class InvitationCreate(BaseModel):
    email: EmailStr
    role: Role


class InvitationOut(BaseModel):
    """An invitation as its project's owners see it: never whether the address has an account."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str = Field(description="The address as it was typed.")
    role: Role
    status: InvitationStatus
    created_at: datetime


class MyInvitationOut(BaseModel):
    """A pending invitation to the caller's address."""

    id: int
    project_id: int
    project_name: str
    role: Role
    invited_by: str | None = Field(None, description="The inviting owner's name or address.")
    created_at: datetime


class MemberUpdate(BaseModel):
    role: Role


class MemberOut(BaseModel):
    user_id: int
    email: str
    name: str
    role: Role
    created_at: datetime
