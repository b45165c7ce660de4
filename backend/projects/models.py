"""Projects and who may do what in them."""

from __future__ import annotations

import enum
from datetime import datetime
from uuid import uuid4

from sqlalchemy import Enum, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, utcnow


class Role(enum.StrEnum):
    """Ordered: each role can do everything the ones before it can."""

    viewer = "viewer"
    reviewer = "reviewer"
    maintainer = "maintainer"
    owner = "owner"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


class Project(Base):
    __tablename__ = "projects"
    # Unique per owner, not per installation: a 409 must not tell an outsider another team's names.
    __table_args__ = (UniqueConstraint("created_by", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Unique in the installation and stable (a rename keeps it): the name's words and the id, so it
    # is never refused and says nothing about other teams' names. Set by create_project.
    slug: Mapped[str] = mapped_column(String(80), unique=True, default=lambda: f"new-{uuid4().hex}")
    description: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("project_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(Enum(Role, name="role", native_enum=False, length=16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InvitationStatus(enum.StrEnum):
    pending = "pending"
    accepted = "accepted"
    declined = "declined"
    revoked = "revoked"


class Invitation(Base):
    """An owner's invitation of an e-mail address into a project. Inviting never looks the address up,
    so the owner learns nothing about which accounts exist; the membership is made only when the
    account with that address (case-insensitively, now or created later) accepts."""

    __tablename__ = "invitations"
    __table_args__ = (
        # one pending invitation per project and address: inviting again returns it (idempotent)
        Index(
            "uq_invitations_pending",
            "project_id",
            "email_key",
            unique=True,
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        # an invitee's pending invitations, found by their account's address
        Index("ix_invitations_email_key", "email_key", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))  # as the owner typed it
    email_key: Mapped[str] = mapped_column(String(320))  # stripped and lower-cased: what is matched
    role: Mapped[Role] = mapped_column(Enum(Role, name="role", native_enum=False, length=16))
    status: Mapped[InvitationStatus] = mapped_column(
        Enum(InvitationStatus, name="invitation_status", native_enum=False, length=16),
        default=InvitationStatus.pending,
    )
    invited_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    responded_at: Mapped[datetime | None] = mapped_column(default=None)
