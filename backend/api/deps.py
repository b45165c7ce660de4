"""Request dependencies as Annotated aliases: SessionDep, CurrentUser, ProjectMember(role)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from backend.core.db import session_scope
from backend.core.errors import Forbidden, NotFound, Unauthorized
from backend.core.ids import PathId
from backend.projects.models import Membership, Project, Role
from backend.users.models import User
from backend.users.service import resolve_token


def get_session() -> Iterator[Session]:
    """One transaction per request, committed when the handler returns without error."""
    with session_scope() as session:
        yield session


# scope="function": commit before the response leaves. With the default ("request") the commit ran after
# the client had its answer, so a client that logged in and called again at once could find no token.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
_bearer = HTTPBearer(auto_error=False, description="A login token or a personal API token.")


def get_current_user(
    session: SessionDep, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> User:
    if creds is None or creds.scheme.lower() != "bearer" or not creds.credentials:
        raise Unauthorized("missing bearer token", code="not_authenticated")
    return resolve_token(session, token=creds.credentials)


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_admin(user: CurrentUser) -> User:
    if not user.is_admin:
        raise Forbidden("only administrators can do this")
    return user


AdminUser = Annotated[User, Depends(require_admin)]


@dataclass
class ProjectAccess:
    project: Project
    user: User
    role: Role


def _project_access(needed: Role):
    def dependency(
        request: Request, session: SessionDep, user: CurrentUser, project_id: PathId
    ) -> ProjectAccess:
        # the project and the caller's membership in one round trip
        project, membership = session.execute(
            select(Project, Membership)
            .outerjoin(Membership, and_(Membership.project_id == Project.id, Membership.user_id == user.id))
            .where(Project.id == project_id)
        ).first() or (None, None)
        # A project the caller cannot see does not exist, as far as they can tell.
        if project is None or membership is None:
            raise NotFound(f"project {project_id} not found")
        if not membership.role.allows(needed):
            raise Forbidden(f"this needs the {needed.value} role; you are {membership.role.value}")
        # a provider's error text is for maintainers only (backend/api/provider_text.py rewrites it)
        request.state.hide_provider_text = not membership.role.allows(Role.maintainer)
        return ProjectAccess(project=project, user=user, role=membership.role)

    return dependency


def ProjectMember(role: Role = Role.viewer):  # noqa: N802 - reads as a type in signatures
    """`access: ProjectMember(Role.maintainer)` loads the project, 404s strangers, 403s low roles."""
    return Annotated[ProjectAccess, Depends(_project_access(role))]


Viewer = ProjectMember(Role.viewer)
Reviewer = ProjectMember(Role.reviewer)
Maintainer = ProjectMember(Role.maintainer)
Owner = ProjectMember(Role.owner)
