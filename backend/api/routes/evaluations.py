"""Evaluations: each model's scores in a run, and every answer it gave (to see which prompts a student
still fails and compare with the teacher's answer to the same prompt)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from backend.api.deps import SessionDep, Viewer
from backend.core.pagination import Page
from backend.evals import benchmarks, service
from backend.evals.benchmark_schemas import BenchmarkResultOut
from backend.evals.schemas import CheckpointPoint, EvalSampleOut, EvaluationOut, PromptComparison
from backend.runs.service import get_run

router = APIRouter(prefix="/projects/{project_id}", tags=["evaluations"])
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/runs/{run_id}/evaluations", operation_id="listRunEvaluations")
def list_evaluations(session: SessionDep, access: Viewer, run_id: Id) -> list[EvaluationOut]:
    """Each evaluated model of the run with its scores and config hash (its training checkpoints:
    .../evaluations/checkpoints)."""
    run = get_run(session, project=access.project, run_id=run_id)
    return [EvaluationOut.model_validate(e) for e in service.evaluations_of(session, run=run)]


@router.get("/runs/{run_id}/evaluations/checkpoints", operation_id="listRunCheckpointEvaluations")
def checkpoint_curve(session: SessionDep, access: Viewer, run_id: Id) -> list[CheckpointPoint]:
    """Accuracy against step: one point per training checkpoint the run's evaluate stage scored
    (evaluate.checkpoints), by step, with the training loss logged at that step; each point's answers
    are at .../evaluations/{evaluation_id}/samples."""
    run = get_run(session, project=access.project, run_id=run_id)
    return service.checkpoint_curve(session, run=run)


@router.get("/runs/{run_id}/benchmarks", operation_id="listRunBenchmarks")
def list_benchmarks(session: SessionDep, access: Viewer, run_id: Id) -> list[BenchmarkResultOut]:
    """Each model's lm-evaluation-harness scores per task (the run's benchmark stage), with lm-eval's
    version and the config hash (model files, task files, lm-eval's version, settings)."""
    run = get_run(session, project=access.project, run_id=run_id)
    return [BenchmarkResultOut.model_validate(r) for r in benchmarks.results_of(session, run=run)]


@router.get("/runs/{run_id}/evaluations/by-prompt", operation_id="compareRunEvaluations")
def compare(
    session: SessionDep,
    access: Viewer,
    run_id: Id,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
    only: Annotated[
        service.Only,
        Query(
            description="student_fails: no student sample passed; student_fails_teacher_passes: "
            "and a teacher sample did."
        ),
    ] = "all",
) -> Page[PromptComparison]:
    """Per held-out prompt, every evaluated model's answers side by side (base, student, teacher), a
    page of prompts at a time in prompt order."""
    run = get_run(session, project=access.project, run_id=run_id)
    rows, nxt = service.compare_page(session, run=run, limit=limit, cursor=cursor, only=only)
    return Page[PromptComparison](items=rows, next_cursor=nxt)


@router.get("/evaluations/{evaluation_id}/samples", operation_id="listEvalSamples")
def list_samples(
    session: SessionDep,
    access: Viewer,
    evaluation_id: Id,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: str | None = None,
    passed: Annotated[bool | None, Query(description="false: the answers that failed.")] = None,
    prompt_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> Page[EvalSampleOut]:
    """One evaluation's answers, a page at a time; prompt_id gives every answer to one prompt."""
    ev = service.get_evaluation(session, project=access.project, evaluation_id=evaluation_id)
    rows, nxt = service.samples_page(
        session, evaluation=ev, limit=limit, cursor=cursor, passed=passed, prompt_id=prompt_id
    )
    return Page[EvalSampleOut](items=[EvalSampleOut.model_validate(r) for r in rows], next_cursor=nxt)
