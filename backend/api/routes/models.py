"""Model artifacts: the students trained by runs, with their metrics and lineage."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import PlainTextResponse

from backend.api.deps import SessionDep, Viewer
from backend.core.pagination import Page
from backend.training import service
from backend.training.card import model_card
from backend.training.schemas import ModelArtifactOut

router = APIRouter(prefix="/projects/{project_id}", tags=["models"])
ModelId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/models", operation_id="listModels")
def list_models(
    session: SessionDep,
    access: Viewer,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
    run_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Page[ModelArtifactOut]:
    """Trained models, newest first, a page at a time; run_id narrows them to one run."""
    rows, nxt = service.list_models(
        session, project=access.project, limit=limit, cursor=cursor, run_id=run_id
    )
    return Page[ModelArtifactOut](items=[ModelArtifactOut.model_validate(r) for r in rows], next_cursor=nxt)


@router.get("/models/{model_id}", operation_id="getModel")
def get_model(session: SessionDep, access: Viewer, model_id: ModelId) -> ModelArtifactOut:
    """One model: base, method, path, final metrics, and its lineage (teacher, snapshot, checkpoint)."""
    return ModelArtifactOut.model_validate(
        service.get_model(session, project=access.project, model_id=model_id)
    )


@router.get("/models/{model_id}/card", operation_id="getModelCard", response_class=PlainTextResponse)
def card(session: SessionDep, access: Viewer, model_id: ModelId) -> str:
    """The model's card (README.md, markdown) rendered from what is stored now: lineage, whether a
    re-queued run resumed from a checkpoint, and every evaluation of the model so far."""
    return model_card(session, service.get_model(session, project=access.project, model_id=model_id))
