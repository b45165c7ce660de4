"""Request dependencies as Annotated aliases: SessionDep, CurrentUser, ProjectMember(role)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

import anyio
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Integer, and_, bindparam
from sqlalchemy.orm import Session

from backend.core.db import get_sessionmaker
from backend.core.errors import Forbidden, NotFound, Unauthorized
from backend.core.ids import PathId
from backend.projects.models import Membership, Project, Role
from backend.users.models import User
from backend.users.service import TOKEN_AND_USER, resolve_token, token_params, user_of_token


async def get_session() -> AsyncIterator[Session]:
    """One transaction per request, committed when the handler returns without error (session_scope's
    rules). Opening a session does no I/O, so it happens on the event loop; only the end (commit or
    rollback, then close) goes to a thread, in one hop. A sync generator took two hops a request, and
    under load every hop waits for the event loop to win the GIL back from the busy threads."""
    session = get_sessionmaker()()
    ok = False
    try:
        yield session
        ok = True
    finally:
        with anyio.CancelScope(shield=True):  # a dropped client must not leak the connection
            await run_in_threadpool(end_session, session, ok)


def end_session(session: Session, ok: bool) -> None:
    try:
        if ok:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


# scope="function": commit before the response leaves. With the default ("request") the commit ran after
# the client had its answer, so a client that logged in and called again at once could find no token.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
_bearer = HTTPBearer(auto_error=False, description="A login token or a personal API token.")


async def _bearer_token(creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> str:
    """The request's bearer token, or 401 before anything else is checked (no I/O: no thread hop)."""
    if creds is None or creds.scheme.lower() != "bearer" or not creds.credentials:
        raise Unauthorized("missing bearer token", code="not_authenticated")
    return creds.credentials


BearerToken = Annotated[str, Depends(_bearer_token)]


def get_current_user(session: SessionDep, token: BearerToken) -> User:
    return resolve_token(session, token=token)


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


# The caller's token and user, the project and the caller's role in it: one round trip, and a statement
# built once, so that a request does not build it (and its cache key) again.
_ACCESS = (
    TOKEN_AND_USER.add_columns(Project, Membership.role)
    .outerjoin(Project, Project.id == bindparam("project_id", type_=Integer))
    .outerjoin(Membership, and_(Membership.project_id == Project.id, Membership.user_id == User.id))
)


def hides_provider_text(role: Role) -> bool:
    """Whether a provider's error text is hidden from a caller of this role (backend/api/provider_text.py)."""
    return not role.allows(Role.maintainer)


def _project_access(needed: Role):
    def dependency(
        request: Request, session: SessionDep, token: BearerToken, project_id: PathId
    ) -> ProjectAccess:
        # The token is read here rather than in a CurrentUser dependency of its own: each sync dependency
        # is a thread hop and a query, and this one is on every project route (issue 24 item 8).
        found = session.execute(_ACCESS, {**token_params(token), "project_id": project_id}).first()
        row, user, project, role = found or (None, None, None, None)
        user = user_of_token(row, user)  # 401 before anything about the project
        # A project the caller cannot see does not exist, as far as they can tell.
        if project is None or role is None:
            raise NotFound(f"project {project_id} not found")
        if not role.allows(needed):
            raise Forbidden(f"this needs the {needed.value} role; you are {role.value}")
        request.state.hide_provider_text = hides_provider_text(role)
        return ProjectAccess(project=project, user=user, role=role)

    return dependency


def ProjectMember(role: Role = Role.viewer):  # noqa: N802 - reads as a type in signatures
    """`access: ProjectMember(Role.maintainer)` loads the project, 404s strangers, 403s low roles."""
    return Annotated[ProjectAccess, Depends(_project_access(role))]


Viewer = ProjectMember(Role.viewer)
Reviewer = ProjectMember(Role.reviewer)
Maintainer = ProjectMember(Role.maintainer)
Owner = ProjectMember(Role.owner)
