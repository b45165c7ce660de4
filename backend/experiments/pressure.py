"""The pressure test, the first question before spending: does the teacher materially beat the student
as it is? One evaluate-only run over [base student, teacher] on a sample of held-out prompts (the
evaluate stage does the work, on a gpu worker), stored as an experiment of kind pressure whose verdict is
read from the run's evaluations once it succeeded (backend/experiments/verdict.py)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.evals.models import Evaluation
from backend.experiments import factors as fx
from backend.experiments.models import Experiment
from backend.experiments.schemas import PressureResult, PressureTestCreate
from backend.experiments.service import check_free_name, difference, score_of
from backend.experiments.verdict import pressure_verdict
from backend.projects.models import Project
from backend.runs import service as runs
from backend.runs.models import Run, RunStage, Status
from backend.runs.schemas import RunCreate
from backend.teachers.service import get_teacher
from backend.training.model_refs import resolve_model
from backend.users.models import User


def recipe_of(data: PressureTestCreate) -> dict:
    return {
        "prompt_set_id": data.prompt_set_id,
        "teacher_id": data.teacher_id,
        "stages": ["evaluate"],
        "evaluate": {
            "split": data.split,
            "max_prompts": data.sample,
            "max_tokens": data.max_tokens,
            "k": data.k,
            "models": [
                {"role": "base", "label": "student", "model": data.student, "backend": data.student_backend},
                {"role": "teacher", "label": "teacher"},
            ],
        },
    }


def _name(session: Session, project: Project, wanted: str | None, teacher: str) -> str:
    taken = set(session.scalars(select(Experiment.name).where(Experiment.project_id == project.id)))
    if wanted:
        check_free_name(session, project, wanted)
        return wanted
    n = 1
    while (name := f"pressure test {n}: {teacher}"[:200]) in taken:
        n += 1
    return name


def create_pressure_test(
    session: Session, *, project: Project, user: User | None, data: PressureTestCreate
) -> tuple[Experiment, Run]:
    """Checks what the body names (404 for another project's teacher or prompt set, 422 for a student
    that cannot be named), creates the run (the caller queues it) and the experiment."""
    teacher = get_teacher(session, project=project, teacher_id=data.teacher_id)
    resolve_model(session, project.id, data.student, field="body.student")
    name = _name(session, project, data.name, teacher.name)
    run = runs.create_run(
        session, project=project, user=user,
        data=RunCreate.model_validate({"name": name[:200], "recipe": recipe_of(data)}),
    )  # fmt: skip
    exp = Experiment(
        project_id=project.id, name=name, kind="pressure", prompt_set_id=data.prompt_set_id,
        eval_set=fx.eval_set(run.recipe) or {}, run_ids=[run.id], auto=False,
        settings={"margin": data.margin, "sample": data.sample, "student": data.student,
                  "teacher_id": teacher.id, "teacher": teacher.name},
        created_by=user.id if user else None,
    )  # fmt: skip
    session.add(exp)
    session.flush()
    return exp, run


def _error(session: Session, run: Run) -> str | None:
    failed = session.scalar(
        select(RunStage.error).where(RunStage.run_id == run.id, RunStage.error.is_not(None)).limit(1)
    )
    return run.error or failed


def pressure_result(session: Session, exp: Experiment, found: list[Run]) -> PressureResult:
    margin = float((exp.settings or {}).get("margin", 0.05))
    none = {"teacher": None, "student": None, "difference": None, "verdict": None, "material": None,
            "sentence": None, "error": None}  # fmt: skip
    if not found:
        return PressureResult(
            **{**none, "status": "deleted", "margin": margin, "error": "its run was deleted"}
        )
    run = found[0]
    if run.status != Status.succeeded:
        # a failed run is an infrastructure or settings problem, never a verdict on the teacher
        err = _error(session, run) if run.status.finished else None
        return PressureResult(**{**none, "status": run.status.value, "margin": margin, "error": err})
    evals = {e.role: e for e in session.scalars(select(Evaluation).where(Evaluation.run_id == run.id))}
    teacher, student = score_of(evals.get("teacher")), score_of(evals.get("base"))
    diff = difference(session, teacher, student)
    if teacher is None or student is None or diff is None or diff.ci is None:
        missing = "the teacher" if teacher is None else "the student" if student is None else "shared prompts"
        return PressureResult(**{**none, "status": run.status.value, "margin": margin, "teacher": teacher,
                                 "student": student, "error": f"no evaluation of {missing}"})  # fmt: skip
    v = pressure_verdict(teacher=teacher.pass_at_1, student=student.pass_at_1,
                         difference=diff.model_dump(), margin=margin)  # fmt: skip
    return PressureResult(status=run.status.value, margin=margin, teacher=teacher, student=student,
                          difference=diff, error=None, **v)  # fmt: skip
