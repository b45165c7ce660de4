"""Served models: a trained student behind a vLLM server, registered as a teacher of the project."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from backend.api.deps import Maintainer, SessionDep, Viewer
from backend.core.ids import PathId
from backend.core.pagination import Page
from backend.serving import service
from backend.serving.schemas import ServedOut, ServeRequest
from backend.training.service import get_model

router = APIRouter(prefix="/projects/{project_id}", tags=["serving"])


@router.post("/models/{model_id}/serve", operation_id="serveModel", status_code=status.HTTP_202_ACCEPTED)
def serve_model(session: SessionDep, access: Maintainer, model_id: PathId, body: ServeRequest) -> ServedOut:
    """Start a vLLM server over a trained model (merged weights, or its LoRA adapter on the base, with
    more adapters of the same base beside it) on a gpu worker. Poll GET .../served/{id}: once running,
    `base_url` answers OpenAI chat completions and `teacher_id` (one per adapter) is a teacher of the
    project that runs may use as teacher, judge or evaluation model."""
    artifact = get_model(session, project=access.project, model_id=model_id)
    row = service.serve_model(
        session, project=access.project, artifact=artifact, data=body, user_id=access.user.id
    )
    return service.to_out(session, row)


@router.get("/served", operation_id="listServed")
def list_served(
    session: SessionDep,
    access: Viewer,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> Page[ServedOut]:
    """Served models, newest first (ended ones included, with how they ended)."""
    rows, nxt = service.list_served(session, project=access.project, limit=limit, cursor=cursor)
    return Page[ServedOut](items=[service.to_out(session, r) for r in rows], next_cursor=nxt)


@router.get("/served/{served_id}", operation_id="getServed")
def get_served(session: SessionDep, access: Viewer, served_id: PathId) -> ServedOut:
    return service.to_out(session, service.get_served(session, project=access.project, served_id=served_id))


@router.delete("/served/{served_id}", operation_id="stopServed", status_code=status.HTTP_202_ACCEPTED)
def stop_served(session: SessionDep, access: Maintainer, served_id: PathId) -> ServedOut:
    """Stop the server: a queued one never starts, a running one stops within a heartbeat and its
    teacher rows are removed; an ended one is answered as it is."""
    row = service.get_served(session, project=access.project, served_id=served_id)
    service.stop_served(session, row=row)
    session.commit()
    return service.to_out(session, row)
