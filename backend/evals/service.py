"""Reading evaluations and their per-sample answers."""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from backend.core.errors import Conflict, NotFound
from backend.core.pagination import decode_cursor, encode_cursor, keyset
from backend.evals.models import EvalSample, Evaluation
from backend.evals.schemas import CheckpointPoint, EvalSampleOut, ModelAnswers, PromptComparison
from backend.projects.models import Project
from backend.prompts.models import Prompt, PromptSet
from backend.runs.models import Run, RunStage
from backend.training.model_refs import resolve_model


def check_eval_references(session: Session, project: Project, recipe: Any) -> None:
    """At run creation: evaluate.prompt_set_id and every model named must be this project's (404
    otherwise, as every foreign id) or allowed (422: a path outside the administrator's roots)."""
    ev = recipe.settings_of("evaluate")
    if ev.prompt_set_id is not None:
        pset = session.get(PromptSet, ev.prompt_set_id)
        if pset is None or pset.project_id != project.id:
            raise NotFound(
                f"evaluate.prompt_set_id: prompt set {ev.prompt_set_id} not found",
                fields=[{"path": "body.recipe.evaluate.prompt_set_id", "message": "not found"}],
            )
        if pset.status != "ready":
            raise Conflict(
                f"evaluate.prompt_set_id: prompt set {pset.id} is {pset.status}, not ready",
                code="prompt_set_not_ready",
            )
    for i, m in enumerate(ev.models):
        if m.model is not None:
            resolve_model(session, project.id, m.model, field=f"body.recipe.evaluate.models.{i}.model")


def evaluations_of(session: Session, *, run: Run) -> list[Evaluation]:
    """A run's evaluations of models (base, student, teacher, other), in the order they were made; its
    training checkpoints' are checkpoint_curve's."""
    return list(
        session.scalars(
            select(Evaluation)
            .where(Evaluation.run_id == run.id, Evaluation.step.is_(None))
            .order_by(Evaluation.id)
        )
    )


def checkpoint_curve(session: Session, *, run: Run) -> list[CheckpointPoint]:
    """Accuracy against step: one point per training checkpoint the run evaluated (evaluate.checkpoints),
    by step, read from the evaluations themselves (so it is there while the stage still runs)."""
    rows = session.scalars(
        select(Evaluation)
        .where(Evaluation.run_id == run.id, Evaluation.step.is_not(None))
        .order_by(Evaluation.step, Evaluation.id)
    )
    losses = _losses(session, run)
    points = []
    for ev in rows:
        m = ev.metrics or {}
        if "pass_at_1" not in m:  # written in the transaction that adds the row; never seen half-made
            continue
        points.append(
            CheckpointPoint(
                step=ev.step or 0,
                evaluation_id=ev.id,
                pass_at_1=m["pass_at_1"],
                pass_at_1_ci=m["pass_at_1_ci"],
                pass_at_k=m["pass_at_k"],
                maj_at_k=m["maj_at_k"],
                samples=m["samples"],
                loss=losses.get(ev.step or 0),
            )
        )
    return points


def _losses(session: Session, run: Run) -> dict[int, float | None]:
    """The train stage's logged loss per step (its series)."""
    metrics = session.scalar(
        select(RunStage.metrics).where(RunStage.run_id == run.id, RunStage.kind == "train").limit(1)
    )
    return {p["step"]: p.get("loss") for p in (metrics or {}).get("series") or [] if "step" in p}


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


Only = Literal["student_fails_teacher_passes", "student_fails", "all"]


def _passes(role: str):
    """Per prompt: how many samples of this role's evaluations passed."""
    return func.sum(case(((Evaluation.role == role) & EvalSample.passed.is_(True), 1), else_=0))


def compare_page(
    session: Session, *, run: Run, limit: int, cursor: str | None, only: Only = "all"
) -> tuple[list[PromptComparison], str | None]:
    """The run's held-out prompts by id, a page at a time, with each evaluated model's answers side by
    side. student_fails: no student sample passed; ..._teacher_passes: and a teacher sample did."""
    stmt = (
        select(EvalSample.prompt_id)
        .join(Evaluation, Evaluation.id == EvalSample.evaluation_id)
        .where(Evaluation.run_id == run.id, Evaluation.step.is_(None))
        .group_by(EvalSample.prompt_id)
        .order_by(EvalSample.prompt_id)
        .limit(limit + 1)
    )
    if cursor:
        stmt = stmt.where(EvalSample.prompt_id > decode_cursor(cursor))
    if only != "all":
        stmt = stmt.having(_passes("student") == 0)
    if only == "student_fails_teacher_passes":
        stmt = stmt.having(_passes("teacher") > 0)
    ids = list(session.scalars(stmt))
    nxt = encode_cursor(ids[limit - 1]) if len(ids) > limit else None
    ids = ids[:limit]
    if not ids:
        return [], None
    evaluations = evaluations_of(session, run=run)
    prompts = {p.id: p for p in session.scalars(select(Prompt).where(Prompt.id.in_(ids)))}
    answers: dict[tuple[int, int], list[EvalSample]] = {}
    for sample in session.scalars(
        select(EvalSample)
        .where(EvalSample.evaluation_id.in_([e.id for e in evaluations]), EvalSample.prompt_id.in_(ids))
        .order_by(EvalSample.prompt_id, EvalSample.evaluation_id, EvalSample.sample)
    ):
        answers.setdefault((sample.prompt_id, sample.evaluation_id), []).append(sample)
    rows = []
    for pid in ids:
        p = prompts.get(pid)
        models = []
        for e in evaluations:
            got = answers.get((pid, e.id))
            if got:
                models.append(
                    ModelAnswers(
                        evaluation_id=e.id,
                        label=e.label or e.role,
                        role=e.role,
                        passed=sum(1 for s in got if s.passed),
                        samples=[EvalSampleOut.model_validate(s) for s in got],
                    )
                )
        rows.append(
            PromptComparison(
                prompt_id=pid,
                text=p.text if p else "(prompt deleted)",
                reference=p.reference if p else None,
                models=models,
            )
        )
    return rows, nxt
