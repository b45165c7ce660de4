"""Projects and memberships."""

from __future__ import annotations

import re
import unicodedata
from typing import overload

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.core.errors import Conflict, Invalid, NotFound
from backend.projects.models import Membership, Project, Role
from backend.users import service as users
from backend.users.models import User


def slug_for(name: str, project_id: int) -> str:
    """A URL-safe, installation-unique slug: the name's ASCII words, then the id ("my-evals-12")."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:60].rstrip("-")
    return f"{words or 'project'}-{project_id}"


def create_project(session: Session, *, owner: User, name: str, description: str = "") -> Project:
    """Create a project with the caller as its owner; names are unique per owner."""
    if session.scalar(select(Project.id).where(Project.created_by == owner.id, Project.name == name)):
        raise Conflict(f"you already have a project named {name!r}", code="project_exists")
    project = Project(name=name, description=description, created_by=owner.id)
    session.add(project)
    session.flush()
    project.slug = slug_for(name, project.id)
    session.add(Membership(project_id=project.id, user_id=owner.id, role=Role.owner))
    session.flush()
    return project


def get_membership(session: Session, *, project_id: int, user_id: int) -> Membership | None:
    """The membership row of a user in a project, if any."""
    stmt = select(Membership).where(Membership.project_id == project_id, Membership.user_id == user_id)
    return session.scalar(stmt)


def list_projects(session: Session, *, user: User) -> list[tuple[Project, Role]]:
    """Projects the user belongs to, with their role, newest first."""
    stmt = (
        select(Project, Membership.role)
        .join(Membership, Membership.project_id == Project.id)
        .where(Membership.user_id == user.id)
        .order_by(Project.id.desc())
    )
    return [(p, r) for p, r in session.execute(stmt)]


def update_project(
    session: Session, *, project: Project, name: str | None, description: str | None
) -> Project:
    """Rename or redescribe a project."""
    if name is not None and name != project.name:
        same = select(Project.id).where(Project.created_by == project.created_by, Project.name == name)
        if session.scalar(same):
            raise Conflict(f"its owner already has a project named {name!r}", code="project_exists")
        project.name = name
    if description is not None:
        project.description = description
    return project


def list_members(session: Session, *, project: Project) -> list[tuple[Membership, User]]:
    """Members of a project with their accounts, in the order they joined."""
    stmt = (
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.project_id == project.id)
        .order_by(Membership.id)
    )
    return [(m, u) for m, u in session.execute(stmt)]


def add_member(session: Session, *, project: Project, email: str, role: Role) -> tuple[Membership, User]:
    """Add an existing user to a project directly, without an invitation: for administrators only (the
    `distillery members add` command, which runs with the database's credentials). The API never calls
    this: owners invite (backend/projects/invitations.py), so that an answer never says whether an
    address has an account and nobody is added without consent. 404 for an unknown email, 409 if
    already a member."""
    user = users.get_by_email(session, email=email)
    if user is None:
        raise NotFound(f"no user with email {email!r}", code="user_not_found")
    if get_membership(session, project_id=project.id, user_id=user.id):
        raise Conflict(f"{email} is already a member", code="already_member")
    m = Membership(project_id=project.id, user_id=user.id, role=role)
    session.add(m)
    session.flush()
    return m, user


def _owner_count(session: Session, project_id: int) -> int:
    stmt = select(func.count()).where(Membership.project_id == project_id, Membership.role == Role.owner)
    return session.scalar(stmt) or 0


@overload
def change_member(
    session: Session, *, project: Project, user_id: int, role: Role
) -> tuple[Membership, User]: ...
@overload
def change_member(session: Session, *, project: Project, user_id: int, role: None) -> None: ...
def change_member(
    session: Session, *, project: Project, user_id: int, role: Role | None
) -> tuple[Membership, User] | None:
    """Set a member's role (or remove them when role is None); a project always keeps an owner."""
    m = get_membership(session, project_id=project.id, user_id=user_id)
    if m is None:
        raise NotFound(f"user {user_id} is not a member of this project")
    if m.role == Role.owner and role != Role.owner and _owner_count(session, project.id) <= 1:
        raise Invalid("a project must keep at least one owner", code="last_owner")
    if role is None:
        session.delete(m)
        return None
    m.role = role
    return m, session.get_one(User, user_id)


def find_project(session: Session, ref: str) -> Project:
    """A project by id or by name, for the command line (which sees every project); a name that
    several owners use is refused, naming the ids to pick from."""
    if ref.isdigit():
        project = session.get(Project, int(ref))
        found = [project] if project else []
    else:
        found = list(session.scalars(select(Project).where(Project.name == ref).order_by(Project.id)))
    if not found:
        raise NotFound(f"no project {ref!r}", code="project_not_found")
    if len(found) > 1:
        ids = ", ".join(str(p.id) for p in found)
        raise Conflict(
            f"several projects are named {ref!r} (ids {ids}); give the id", code="ambiguous_project"
        )
    return found[0]
