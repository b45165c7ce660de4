from __future__ import annotations

from fastapi import APIRouter, status

from backend.api.deps import CurrentUser, Owner, SessionDep, Viewer
from backend.core.ids import PathId
from backend.projects import invitations, service
from backend.projects.models import Role
from backend.projects.schemas import (
    InvitationCreate,
    InvitationOut,
    MemberOut,
    MemberUpdate,
    ProjectCreate,
    ProjectOut,
    ProjectUpdate,
)

router = APIRouter(prefix="/projects", tags=["projects"])
UserId = PathId
InvitationId = PathId


def _member(m, u) -> MemberOut:
    return MemberOut(user_id=u.id, email=u.email, name=u.name, role=m.role, created_at=m.created_at)


@router.get("", operation_id="listProjects")
def list_projects(session: SessionDep, user: CurrentUser) -> list[ProjectOut]:
    """Projects the caller is a member of."""
    return [
        ProjectOut.model_validate(p).model_copy(update={"role": r})
        for p, r in service.list_projects(session, user=user)
    ]


@router.post("", operation_id="createProject", status_code=status.HTTP_201_CREATED)
def create_project(session: SessionDep, user: CurrentUser, body: ProjectCreate) -> ProjectOut:
    """Create a project; the caller becomes its owner."""
    project = service.create_project(session, owner=user, name=body.name, description=body.description)
    return ProjectOut.model_validate(project).model_copy(update={"role": Role.owner})


@router.get("/{project_id}", operation_id="getProject")
def get_project(access: Viewer) -> ProjectOut:
    return ProjectOut.model_validate(access.project).model_copy(update={"role": access.role})


@router.patch("/{project_id}", operation_id="updateProject")
def update_project(session: SessionDep, access: Owner, body: ProjectUpdate) -> ProjectOut:
    project = service.update_project(
        session, project=access.project, name=body.name, description=body.description
    )
    return ProjectOut.model_validate(project).model_copy(update={"role": access.role})


@router.delete("/{project_id}", operation_id="deleteProject", status_code=status.HTTP_204_NO_CONTENT)
def delete_project(session: SessionDep, access: Owner) -> None:
    """Delete a project and everything in it."""
    session.delete(access.project)


@router.get("/{project_id}/members", operation_id="listMembers")
def list_members(session: SessionDep, access: Viewer) -> list[MemberOut]:
    return [_member(m, u) for m, u in service.list_members(session, project=access.project)]


@router.post(
    "/{project_id}/invitations", operation_id="createInvitation", status_code=status.HTTP_201_CREATED
)
def create_invitation(session: SessionDep, access: Owner, body: InvitationCreate) -> InvitationOut:
    """Invite an e-mail address with a role (owners only). The answer is the same whether an account has
    that address or not; the invitee becomes a member only by accepting. Inviting a pending address again
    returns its invitation with the new role."""
    inv = invitations.invite(
        session, project=access.project, email=body.email, role=body.role, by=access.user
    )
    return InvitationOut.model_validate(inv)


@router.get("/{project_id}/invitations", operation_id="listInvitations")
def list_invitations(session: SessionDep, access: Owner) -> list[InvitationOut]:
    """The project's pending invitations (owners only)."""
    return [
        InvitationOut.model_validate(i) for i in invitations.list_pending(session, project=access.project)
    ]


@router.delete(
    "/{project_id}/invitations/{invitation_id}",
    operation_id="revokeInvitation",
    status_code=status.HTTP_204_NO_CONTENT,
)
def revoke_invitation(session: SessionDep, access: Owner, invitation_id: InvitationId) -> None:
    """Withdraw a pending invitation (owners only)."""
    invitations.revoke(session, project=access.project, invitation_id=invitation_id)


@router.patch("/{project_id}/members/{user_id}", operation_id="updateMember")
def update_member(session: SessionDep, access: Owner, user_id: UserId, body: MemberUpdate) -> MemberOut:
    return _member(*service.change_member(session, project=access.project, user_id=user_id, role=body.role))


@router.delete(
    "/{project_id}/members/{user_id}", operation_id="removeMember", status_code=status.HTTP_204_NO_CONTENT
)
def remove_member(session: SessionDep, access: Owner, user_id: UserId) -> None:
    service.change_member(session, project=access.project, user_id=user_id, role=None)
