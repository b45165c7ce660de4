"""The score stage's contract: a vLLM teacher's top-K logprobs over an existing snapshot's kept traces,
written as the snapshot's teacher logprob cache (backend/datasets/logprobs.py) with source "score"."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from backend.core.errors import Invalid, NotFound
from backend.datasets.logprobs import MAX_K
from backend.datasets.models import DatasetSnapshot
from backend.projects.models import Project
from backend.teachers.service import get_teacher


class ScoreSettings(BaseModel):
    """Which snapshot to score, and how many alternatives per token."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    snapshot_id: int | None = Field(
        None,
        ge=1,
        le=2**63 - 1,
        description="The snapshot to score; unset: the one this run's snapshot stage wrote.",
    )
    k: int = Field(
        20, ge=1, le=MAX_K, description="Top-K log-probabilities per completion token (vLLM's max 20)."
    )
    batch_size: int = Field(16, ge=1, le=1024, description="Traces asked of the teacher at once.")


class ScoreSummary(BaseModel):
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    snapshot_id: int
    k: int
    rows: int = Field(description="Traces scored: rows of teacher_logprobs.parquet.")
    skipped: int = Field(0, description="Traces the teacher could not score (too long for its context).")
    teacher: str
    tokenizer_hash: str = Field(description="sha256 of the teacher tokenizer's vocabulary.")
    template_hash: str
    skipped_reason: str | None = Field(None, description="The first skipped trace's cause, when any.")


def check_score(recipe: Any) -> list[str]:
    """Cross-stage rules: the snapshot comes from snapshot_id or a snapshot stage earlier; the teacher
    is the run's (teacher_id)."""
    score: ScoreSettings = recipe.settings_of("score")
    problems = []
    if score.snapshot_id is None and "snapshot" not in recipe.stages[: recipe.stages.index("score")]:
        problems.append("score: needs a snapshot stage earlier in stages, or score.snapshot_id")
    return problems


def check_score_references(session: Session, project: Project, recipe: Any) -> None:
    """A snapshot of another project is a 404; a teacher that is not vLLM is a 422: only vLLM answers
    prompt logprobs over given tokens."""
    score = recipe.settings_of("score")
    if score.snapshot_id is not None:
        snap = session.get(DatasetSnapshot, score.snapshot_id)
        if snap is None or snap.project_id != project.id:
            raise NotFound(f"snapshot {score.snapshot_id} not found")
    if recipe.teacher_id is not None:
        teacher = get_teacher(session, project=project, teacher_id=recipe.teacher_id)
        if teacher.backend != "vllm":
            raise Invalid(
                f"the score stage asks the teacher for prompt logprobs over the kept traces, which only "
                f"vLLM answers; teacher {teacher.name!r} is {teacher.backend}",
                code="teacher_not_vllm",
                fields=[{"path": "body.recipe.teacher_id", "message": "a vllm teacher is needed for score"}],
            )
