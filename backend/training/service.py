"""Model artifacts (read, list) and the train stage's checks against the database at run creation."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core.errors import NotFound
from backend.core.pagination import keyset
from backend.datasets.models import DatasetSnapshot, ModelArtifact
from backend.projects.models import Project
from backend.teachers.routing import check_routes
from backend.teachers.service import get_teacher
from backend.training.model_refs import resolve_model


def check_train_references(session: Session, project: Project, recipe: Any) -> None:
    """A snapshot_id or student artifact of another project is a 404; a student path outside the allowed
    roots is a 422; on-policy distillation's teacher must be one of the project's."""
    train = recipe.settings_of("train")
    resolve_model(session, project.id, train.student, field="body.recipe.train.student")
    if train.snapshot_id is not None:
        snap = session.get(DatasetSnapshot, train.snapshot_id)
        if snap is None or snap.project_id != project.id:
            raise NotFound(f"snapshot {train.snapshot_id} not found")
    if train.method == "distill" and recipe.teacher_id is not None:
        # any backend may teach: an endpoint that is not a vLLM server (no prompt logprobs, no
        # /tokenize) is refused by the worker's pre-flight, which asks the server itself
        get_teacher(session, project=project, teacher_id=recipe.teacher_id)
        check_routes(session, project, train.teachers, "train.teachers")


def get_model(session: Session, *, project: Project, model_id: int) -> ModelArtifact:
    """A model artifact of this project, or 404."""
    art = session.get(ModelArtifact, model_id)
    if art is None or art.project_id != project.id:
        raise NotFound(f"model {model_id} not found")
    return art


def list_models(
    session: Session, *, project: Project, limit: int, cursor: str | None, run_id: int | None = None
) -> tuple[list[ModelArtifact], str | None]:
    """A page of model artifacts, newest first."""
    stmt = select(ModelArtifact).where(ModelArtifact.project_id == project.id)
    if run_id is not None:
        stmt = stmt.where(ModelArtifact.run_id == run_id)
    rows, nxt = keyset(session, stmt, ModelArtifact.id, limit=limit, cursor=cursor)
    return list(rows), nxt
