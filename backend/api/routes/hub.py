"""The Hub: the project's endpoint and write-only token, and pushing a snapshot or a model (a job)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, status

from backend.api.deps import Maintainer, SessionDep, Viewer
from backend.core.ids import PathId, QueryId
from backend.hub import service
from backend.hub.schemas import HubPushOut, HubSettingsOut, HubSettingsUpdate, PushRequest

router = APIRouter(prefix="/projects/{project_id}", tags=["hub"])


@router.get("/hub", operation_id="getHubSettings")
def get_settings(session: SessionDep, access: Viewer) -> HubSettingsOut:
    """The project's Hub endpoint and whether a token is set (the token never comes back)."""
    return service.settings_out(session, project=access.project)


@router.patch("/hub", operation_id="updateHubSettings")
def update_settings(session: SessionDep, access: Maintainer, body: HubSettingsUpdate) -> HubSettingsOut:
    """Set the endpoint and/or the token; the token is stored encrypted and never returned (an empty
    string clears it). Fields not sent stay as they are."""
    return service.update_settings(session, project=access.project, data=body)


@router.delete("/hub/token", operation_id="clearHubToken")
def clear_token(session: SessionDep, access: Maintainer) -> HubSettingsOut:
    return service.clear_token(session, project=access.project)


@router.get("/hub/pushes", operation_id="listHubPushes")
def list_pushes(
    session: SessionDep,
    access: Viewer,
    kind: Literal["snapshot", "model"] | None = None,
    object_id: QueryId | None = None,
) -> list[HubPushOut]:
    """The project's pushes, newest first (at most 200), with their job's status and the pushed URL."""
    return service.list_pushes(session, project=access.project, kind=kind, object_id=object_id)


@router.post(
    "/snapshots/{snapshot_id}/push", operation_id="pushSnapshot", status_code=status.HTTP_202_ACCEPTED
)
def push_snapshot(
    session: SessionDep, access: Maintainer, snapshot_id: PathId, body: PushRequest
) -> HubPushOut:
    """Push the snapshot to a dataset repository (its Parquet configs and its card as README.md), as a
    job. 403 terms_not_acknowledged where the teacher's terms restrict it without acknowledge_terms;
    409 hub_token_missing without a token."""
    return service.queue_push(
        session,
        project=access.project,
        kind="snapshot",
        object_id=snapshot_id,
        data=body,
        user_id=access.user.id,
    )


@router.post("/models/{model_id}/push", operation_id="pushModel", status_code=status.HTTP_202_ACCEPTED)
def push_model(session: SessionDep, access: Maintainer, model_id: PathId, body: PushRequest) -> HubPushOut:
    """Push the model to a model repository (weights or LoRA adapter, tokenizer with its chat template,
    generation config, a card with its lineage and evaluations), as a job; the same guards as a snapshot."""
    return service.queue_push(
        session, project=access.project, kind="model", object_id=model_id, data=body, user_id=access.user.id
    )
