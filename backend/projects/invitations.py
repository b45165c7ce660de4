"""Invitations: an owner invites an e-mail address; the account with that address accepts or declines.

Inviting never looks the address up, so its answer is the same whether an account exists or not (no
account oracle), and nobody lands in a project without saying yes. An address with no account simply
waits: an account created later with it sees the invitation. Matching is on the account's address,
case-insensitively; one account cannot see, accept or decline another's invitation (404).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.core.db import utcnow
from backend.core.errors import Conflict, NotFound
from backend.projects.models import Invitation, InvitationStatus, Membership, Project, Role
from backend.users.models import User


def email_key(email: str) -> str:
    """What an address is matched on: stripped and lower-cased, as accounts store theirs."""
    return email.strip().lower()


def _pending(session: Session, project_id: int, key: str) -> Invitation | None:
    stmt = select(Invitation).where(
        Invitation.project_id == project_id,
        Invitation.email_key == key,
        Invitation.status == InvitationStatus.pending,
    )
    return session.scalar(stmt)


def invite(session: Session, *, project: Project, email: str, role: Role, by: User | None) -> Invitation:
    """A pending invitation of `email` into `project`, the same answer whether an account has that
    address or not. Inviting an address again returns its pending invitation with the new role (never a
    second row). 409 `already_member` only for an address of a member, whom the owner already sees."""
    key = email_key(email)
    member = select(Membership.id).join(User, User.id == Membership.user_id)
    if session.scalar(member.where(Membership.project_id == project.id, User.email == key)):
        raise Conflict(f"{email} is already a member", code="already_member")
    found = _pending(session, project.id, key)
    if found is None:
        found = Invitation(project_id=project.id, email=email.strip(), email_key=key, role=role)
        found.invited_by = by.id if by else None
        try:
            with session.begin_nested():  # two owners inviting at once: the second gets the first's row
                session.add(found)
        except IntegrityError:
            found = _pending(session, project.id, key)
            if found is None:
                raise
    found.role = role
    session.flush()
    return found


def list_pending(session: Session, *, project: Project) -> list[Invitation]:
    """A project's pending invitations, oldest first."""
    stmt = (
        select(Invitation)
        .where(Invitation.project_id == project.id, Invitation.status == InvitationStatus.pending)
        .order_by(Invitation.id)
    )
    return list(session.scalars(stmt))


def revoke(session: Session, *, project: Project, invitation_id: int) -> None:
    """Withdraw a pending invitation of this project; 404 for any other."""
    inv = session.scalar(
        select(Invitation)
        .where(Invitation.id == invitation_id, Invitation.project_id == project.id)
        .with_for_update()
    )
    if inv is None or inv.status != InvitationStatus.pending:
        raise NotFound(f"invitation {invitation_id} not found", code="invitation_not_found")
    inv.status = InvitationStatus.revoked
    inv.responded_at = utcnow()


def for_user(session: Session, *, user: User) -> list[tuple[Invitation, Project, User | None]]:
    """The pending invitations to the user's address, with their project and who invited, newest first."""
    stmt = (
        select(Invitation, Project, User)
        .join(Project, Project.id == Invitation.project_id)
        .outerjoin(User, User.id == Invitation.invited_by)
        .where(Invitation.email_key == email_key(user.email), Invitation.status == InvitationStatus.pending)
        .order_by(Invitation.id.desc())
    )
    return [(i, p, u) for i, p, u in session.execute(stmt)]


def _own_pending(session: Session, *, user: User, invitation_id: int) -> Invitation:
    """The user's own pending invitation, locked; 404 for anyone else's, or one no longer pending."""
    inv = session.scalar(
        select(Invitation)
        .where(
            Invitation.id == invitation_id,
            Invitation.email_key == email_key(user.email),
            Invitation.status == InvitationStatus.pending,
        )
        .with_for_update()
    )
    if inv is None:
        raise NotFound(f"invitation {invitation_id} not found", code="invitation_not_found")
    return inv


def accept(session: Session, *, user: User, invitation_id: int) -> tuple[Project, Role]:
    """Join the project at the invitation's role; where the user is already a member (an administrator
    added them meanwhile), their role stays as it is."""
    inv = _own_pending(session, user=user, invitation_id=invitation_id)
    inv.status = InvitationStatus.accepted
    inv.responded_at = utcnow()
    stmt = select(Membership).where(Membership.project_id == inv.project_id, Membership.user_id == user.id)
    membership = session.scalar(stmt)
    if membership is None:
        membership = Membership(project_id=inv.project_id, user_id=user.id, role=inv.role)
        session.add(membership)
    session.flush()
    return session.get_one(Project, inv.project_id), membership.role


def decline(session: Session, *, user: User, invitation_id: int) -> None:
    inv = _own_pending(session, user=user, invitation_id=invitation_id)
    inv.status = InvitationStatus.declined
    inv.responded_at = utcnow()
