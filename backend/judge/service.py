"""Rubric versions: create the next one, list, read."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.core.errors import Conflict, NotFound
from backend.judge.models import Rubric
from backend.judge.schemas import RubricIn
from backend.projects.models import Project
from backend.users.models import User


def create_rubric(session: Session, *, project: Project, user: User, body: RubricIn) -> Rubric:
    """The project's next rubric version (1, 2, ...); earlier versions stay as they were."""
    latest = session.scalar(select(func.max(Rubric.version)).where(Rubric.project_id == project.id)) or 0
    rubric = Rubric(project_id=project.id, version=latest + 1, created_by=user.id, **body.model_dump())
    session.add(rubric)
    try:
        session.flush()
    except IntegrityError:  # two maintainers saved at once; the other one got this number
        session.rollback()
        raise Conflict("another rubric version was created at the same moment; try again") from None
    return rubric


def list_rubrics(session: Session, *, project: Project) -> list[Rubric]:
    stmt = select(Rubric).where(Rubric.project_id == project.id).order_by(Rubric.version.desc())
    return list(session.scalars(stmt))


def get_rubric(session: Session, *, project_id: int, version: int | None) -> Rubric:
    """A version of the project's rubric, or (version None) the latest."""
    stmt = select(Rubric).where(Rubric.project_id == project_id)
    stmt = stmt.where(Rubric.version == version) if version else stmt.order_by(Rubric.version.desc())
    rubric = session.scalars(stmt.limit(1)).first()
    if rubric is None:
        what = f"version {version}" if version else "any version"
        raise NotFound(f"the project has no rubric {what}", code="rubric_not_found")
    return rubric
