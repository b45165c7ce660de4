from __future__ import annotations

from fastapi import APIRouter, status

from backend.api.deps import Maintainer, SessionDep, Viewer
from backend.core.ids import PathId
from backend.jobs.schemas import JobOut
from backend.teachers import service
from backend.teachers.probe import queue_probe
from backend.teachers.schemas import TeacherCreate, TeacherOut, TeacherUpdate

router = APIRouter(prefix="/projects/{project_id}/teachers", tags=["teachers"])
TeacherId = PathId


@router.get("", operation_id="listTeachers")
def list_teachers(session: SessionDep, access: Viewer) -> list[TeacherOut]:
    return [service.to_out(t) for t in service.list_teachers(session, project=access.project)]


@router.post("", operation_id="createTeacher", status_code=status.HTTP_201_CREATED)
def create_teacher(session: SessionDep, access: Maintainer, body: TeacherCreate) -> TeacherOut:
    """Register a teacher endpoint; its api_key is stored encrypted and never returned."""
    return service.to_out(service.create_teacher(session, project=access.project, data=body))


@router.get("/{teacher_id}", operation_id="getTeacher")
def get_teacher(session: SessionDep, access: Viewer, teacher_id: TeacherId) -> TeacherOut:
    return service.to_out(service.get_teacher(session, project=access.project, teacher_id=teacher_id))


@router.patch("/{teacher_id}", operation_id="updateTeacher")
def update_teacher(
    session: SessionDep, access: Maintainer, teacher_id: TeacherId, body: TeacherUpdate
) -> TeacherOut:
    teacher = service.get_teacher(session, project=access.project, teacher_id=teacher_id)
    return service.to_out(service.update_teacher(session, teacher=teacher, data=body))


@router.delete("/{teacher_id}", operation_id="deleteTeacher", status_code=status.HTTP_204_NO_CONTENT)
def delete_teacher(session: SessionDep, access: Maintainer, teacher_id: TeacherId) -> None:
    """409 teacher_in_use while a run that has not finished draws from or judges with it."""
    teacher = service.get_teacher(session, project=access.project, teacher_id=teacher_id)
    service.delete_teacher(session, teacher=teacher)


@router.post("/{teacher_id}/probe", operation_id="probeTeacher", status_code=status.HTTP_202_ACCEPTED)
def probe_teacher(session: SessionDep, access: Maintainer, teacher_id: TeacherId) -> JobOut:
    """Measure the teacher's speed as a job: a few short real requests (never the response cache), sent
    at once through the rollout's own client; the figures land on the teacher's `probe` and the
    rollout estimate uses them before its first run. A local teacher's probe runs on a gpu worker."""
    teacher = service.get_teacher(session, project=access.project, teacher_id=teacher_id)
    job = queue_probe(session, project=access.project, teacher=teacher, user_id=access.user.id)
    return JobOut.model_validate(job)
