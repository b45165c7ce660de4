"""Reading evaluations and their per-sample answers."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core.errors import NotFound
from backend.core.pagination import keyset
from backend.evals.models import EvalSample, Evaluation
from backend.projects.models import Project
from backend.runs.models import Run


def evaluations_of(session: Session, *, run: Run) -> list[Evaluation]:
    """A run's evaluations, in the order they were made."""
    return list(
        session.scalars(select(Evaluation).where(Evaluation.run_id == run.id).order_by(Evaluation.id))
    )


def get_evaluation(session: Session, *, project: Project, evaluation_id: int) -> Evaluation:
    ev = session.get(Evaluation, evaluation_id)
    if ev is None or ev.project_id != project.id:
        raise NotFound(f"evaluation {evaluation_id} not found")
    return ev


def samples_page(
    session: Session,
    *,
    evaluation: Evaluation,
    limit: int,
    cursor: str | None,
    passed: bool | None = None,
    prompt_id: int | None = None,
) -> tuple[list[EvalSample], str | None]:
    """A page of one evaluation's answers, oldest first; passed=false lists what the model still fails."""
    stmt = select(EvalSample).where(EvalSample.evaluation_id == evaluation.id)
    if passed is not None:
        stmt = stmt.where(EvalSample.passed.is_(True) if passed else EvalSample.passed.is_not(True))
    if prompt_id is not None:
        stmt = stmt.where(EvalSample.prompt_id == prompt_id)
    rows, nxt = keyset(session, stmt, EvalSample.id, limit=limit, cursor=cursor, descending=False)
    return list(rows), nxt
