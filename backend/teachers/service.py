"""Teacher endpoints; API keys are encrypted on the way in and never decrypted for a response."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core.errors import Conflict, NotFound
from backend.core.security import decrypt_secret, encrypt_secret
from backend.projects.models import Project
from backend.teachers.models import Teacher
from backend.teachers.schemas import TeacherCreate, TeacherOut, TeacherUpdate, runs_locally
from backend.teachers.settings import check_teacher
from backend.training.model_refs import resolve_model


def to_out(teacher: Teacher) -> TeacherOut:
    """The public view of a teacher: whether it has a key, never the key."""
    return TeacherOut.model_validate(
        {
            **{c: getattr(teacher, c) for c in TeacherOut.model_fields if c != "has_api_key"},
            "has_api_key": bool(teacher.api_key_encrypted),
        }
    )


def _check_name(session: Session, project_id: int, name: str) -> None:
    stmt = select(Teacher.id).where(Teacher.project_id == project_id, Teacher.name == name)
    if session.scalar(stmt):
        raise Conflict(f"a teacher named {name!r} already exists in this project", code="teacher_exists")


def _check_model(session: Session, project_id: int, backend: str, base_url: str | None, model: str) -> None:
    """A model the worker loads itself must be a hub id, this project's artifact or an allowed path; an
    endpoint's model is only a name it is sent."""
    if runs_locally(backend, base_url):
        resolve_model(session, project_id, model, field="body.model")


def create_teacher(session: Session, *, project: Project, data: TeacherCreate) -> Teacher:
    """Register a teacher endpoint in a project."""
    settings = check_teacher(data.backend.value, data.base_url, data.settings)
    _check_model(session, project.id, data.backend.value, data.base_url, data.model)
    _check_name(session, project.id, data.name)
    key = data.api_key.get_secret_value() if data.api_key else ""
    teacher = Teacher(
        project_id=project.id,
        name=data.name,
        backend=data.backend.value,
        model=data.model,
        base_url=data.base_url,
        api_key_encrypted=encrypt_secret(key) if key else None,
        licence=data.licence.value,
        settings=settings,
    )
    session.add(teacher)
    session.flush()
    return teacher


def get_teacher(session: Session, *, project: Project, teacher_id: int) -> Teacher:
    """A teacher of this project, or 404 (another project's teacher included)."""
    teacher = session.get(Teacher, teacher_id)
    if teacher is None or teacher.project_id != project.id:
        raise NotFound(f"teacher {teacher_id} not found")
    return teacher


def list_teachers(session: Session, *, project: Project) -> list[Teacher]:
    """All teachers of a project, oldest first."""
    return list(session.scalars(select(Teacher).where(Teacher.project_id == project.id).order_by(Teacher.id)))


def update_teacher(session: Session, *, teacher: Teacher, data: TeacherUpdate) -> Teacher:
    """Apply the fields that were sent."""
    sent = data.model_fields_set
    measured = (teacher.model, teacher.base_url, teacher.settings, teacher.api_key_encrypted)
    if "name" in sent and data.name and data.name != teacher.name:
        _check_name(session, teacher.project_id, data.name)
        teacher.name = data.name
    for field in ("model", "base_url", "settings"):
        if field in sent and getattr(data, field) is not None:
            setattr(teacher, field, getattr(data, field))
    teacher.settings = check_teacher(teacher.backend, teacher.base_url, teacher.settings)
    _check_model(session, teacher.project_id, teacher.backend, teacher.base_url, teacher.model)
    if "licence" in sent and data.licence is not None:
        teacher.licence = data.licence.value
    if "api_key" in sent:
        key = data.api_key.get_secret_value() if data.api_key else ""
        teacher.api_key_encrypted = encrypt_secret(key) if key else None
    if (teacher.model, teacher.base_url, teacher.settings, teacher.api_key_encrypted) != measured:
        teacher.probe = None  # it measured another model, endpoint or key
    session.flush()
    return teacher


def delete_teacher(session: Session, *, teacher: Teacher) -> None:
    """Refused (409 teacher_in_use) while a run that has not finished draws from it or judges with it:
    its rows would lose their teacher mid-stage (runs.teacher_id is SET NULL), and a chunk claimed
    after that could only fail. Cancel or finish the run first."""
    from backend.runs.models import Run, Status  # runs sit above teachers; imported where needed

    live = session.scalars(
        select(Run).where(
            Run.project_id == teacher.project_id,
            Run.status.not_in([Status.succeeded, Status.failed, Status.cancelled]),
        )
    ).all()
    using = [
        r.id
        for r in live
        if r.teacher_id == teacher.id or (r.recipe.get("judge") or {}).get("teacher_id") == teacher.id
    ]
    if using:
        raise Conflict(
            f"teacher {teacher.id} is used by run(s) {', '.join(map(str, sorted(using)))} that have not "
            "finished; cancel them or wait for them to end",
            code="teacher_in_use",
        )
    session.delete(teacher)


def api_key_of(teacher: Teacher) -> str | None:
    """The plaintext key, for workers calling the endpoint; never for a response."""
    return decrypt_secret(teacher.api_key_encrypted) if teacher.api_key_encrypted else None
