"""The caller's own invitations: the pending ones, accept, decline (backend/projects/invitations.py)."""

from __future__ import annotations

from fastapi import APIRouter, status

from backend.api.deps import CurrentUser, SessionDep
from backend.core.ids import PathId
from backend.projects import invitations
from backend.projects.schemas import MyInvitationOut, ProjectOut

router = APIRouter(prefix="/invitations", tags=["invitations"])


@router.get("", operation_id="listMyInvitations")
def list_my_invitations(session: SessionDep, user: CurrentUser) -> list[MyInvitationOut]:
    """Pending invitations to the caller's e-mail address (matched case-insensitively)."""
    return [
        MyInvitationOut(
            id=inv.id,
            project_id=project.id,
            project_name=project.name,
            role=inv.role,
            invited_by=(by.name or by.email) if by else None,
            created_at=inv.created_at,
        )
        for inv, project, by in invitations.for_user(session, user=user)
    ]


@router.post("/{invitation_id}/accept", operation_id="acceptInvitation")
def accept_invitation(session: SessionDep, user: CurrentUser, invitation_id: PathId) -> ProjectOut:
    """Join the project; 404 unless this is a pending invitation to the caller's address."""
    project, role = invitations.accept(session, user=user, invitation_id=invitation_id)
    return ProjectOut.model_validate(project).model_copy(update={"role": role})


@router.post(
    "/{invitation_id}/decline", operation_id="declineInvitation", status_code=status.HTTP_204_NO_CONTENT
)
def decline_invitation(session: SessionDep, user: CurrentUser, invitation_id: PathId) -> None:
    """Say no; 404 unless this is a pending invitation to the caller's address."""
    invitations.decline(session, user=user, invitation_id=invitation_id)
