"""Rubric versions: create the next one, list, read."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.core.errors import Conflict, Invalid, NotFound
from backend.judge.models import Rubric
from backend.judge.schemas import RubricIn
from backend.projects.models import Project
from backend.teachers.models import Teacher
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


def check_judge_references(session: Session, project: Project, recipe: Any) -> None:
    """At run creation, before the rollout is paid for: judge.teacher_id of another project is a 404 (as
    every foreign id), a rubric version the project does not have (or no rubric at all) a 422."""
    judge = recipe.settings_of("judge")
    if judge.teacher_id is not None:
        teacher = session.get(Teacher, judge.teacher_id)
        if teacher is None or teacher.project_id != project.id:
            path = "body.recipe.judge.teacher_id"
            raise NotFound(
                f"judge.teacher_id: teacher {judge.teacher_id} not found",
                fields=[{"path": path, "message": "not found"}],
            )
    try:
        get_rubric(session, project_id=project.id, version=judge.rubric_version)
    except NotFound as exc:
        raise Invalid(
            f"judge.rubric_version: {exc.message}; write the rubric first (Judge page or POST .../rubrics)",
            code="rubric_not_found",
            fields=[{"path": "body.recipe.judge.rubric_version", "message": exc.message}],
        ) from None
