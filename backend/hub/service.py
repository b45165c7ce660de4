"""The project's Hub settings (the token stored encrypted, never returned) and queueing a push: the
object is this project's, the licence guard passes, a token is set, then a `hub_push` job runs it."""

from __future__ import annotations

import logging
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core.egress import EgressPolicy, EgressRefused
from backend.core.errors import Conflict, Invalid
from backend.core.security import decrypt_secret, encrypt_secret
from backend.datasets.export import check_export
from backend.datasets.models import DatasetSnapshot, ModelArtifact
from backend.datasets.service import get_snapshot
from backend.hub.models import DEFAULT_ENDPOINT, HubPush, HubSettings
from backend.hub.schemas import HubPushOut, HubSettingsOut, HubSettingsUpdate, PushRequest
from backend.jobs.models import Job
from backend.jobs.service import submit_job
from backend.projects.models import Project
from backend.runs.models import Run
from backend.training.service import get_model

log = logging.getLogger(__name__)
Kind = Literal["snapshot", "model"]


def settings_out(session: Session, *, project: Project) -> HubSettingsOut:
    row = session.get(HubSettings, project.id)
    if row is None:
        return HubSettingsOut(endpoint=DEFAULT_ENDPOINT, has_token=False)
    return HubSettingsOut(
        endpoint=row.endpoint, has_token=bool(row.token_encrypted), updated_at=row.updated_at
    )


def update_settings(session: Session, *, project: Project, data: HubSettingsUpdate) -> HubSettingsOut:
    """Set the endpoint and/or the token (an empty token clears it); fields not sent stay."""
    sent = data.model_fields_set
    if data.endpoint is not None:
        try:
            EgressPolicy.current().check_host_now(data.endpoint)
        except EgressRefused as exc:
            raise Invalid(
                f"the Hub's URL is refused: {exc}",
                fields=[{"path": "body.endpoint", "message": str(exc), "type": "egress_refused"}],
            ) from None
    row = session.get(HubSettings, project.id)
    if row is None:
        row = HubSettings(project_id=project.id, endpoint=DEFAULT_ENDPOINT)
        session.add(row)
    if data.endpoint is not None:
        row.endpoint = data.endpoint
    if "token" in sent:
        token = data.token.get_secret_value().strip() if data.token else ""
        row.token_encrypted = encrypt_secret(token) if token else None
    session.flush()
    return settings_out(session, project=project)


def clear_token(session: Session, *, project: Project) -> HubSettingsOut:
    return update_settings(session, project=project, data=HubSettingsUpdate.model_validate({"token": ""}))


def credentials(session: Session, project_id: int) -> tuple[str, str | None]:
    """The endpoint and the decrypted token (for the worker only: never in a response or a log)."""
    row = session.get(HubSettings, project_id)
    if row is None:
        return DEFAULT_ENDPOINT, None
    return row.endpoint, decrypt_secret(row.token_encrypted) if row.token_encrypted else None


def source_runs(session: Session, *, kind: Kind, obj: DatasetSnapshot | ModelArtifact) -> list[Run]:
    """The runs whose teachers' terms a push carries: a snapshot's run; a model's run and its snapshot's."""
    ids = {obj.run_id}
    if isinstance(obj, ModelArtifact) and obj.snapshot_id is not None:
        snap = session.get(DatasetSnapshot, obj.snapshot_id)
        ids.add(snap.run_id if snap is not None else None)
    return [r for i in sorted(x for x in ids if x is not None) if (r := session.get(Run, i)) is not None]


def _object(
    session: Session, project: Project, kind: Kind, object_id: int
) -> DatasetSnapshot | ModelArtifact:
    if kind == "snapshot":
        return get_snapshot(session, project=project, snapshot_id=object_id)
    return get_model(session, project=project, model_id=object_id)


def queue_push(
    session: Session, *, project: Project, kind: Kind, object_id: int, data: PushRequest, user_id: int | None
) -> HubPushOut:
    """Check what can be checked before a worker starts (the object is this project's: 404 otherwise; the
    licence guard: 403 terms_not_acknowledged; a token is set: 409 hub_token_missing), then queue the job.
    Pushing the same object to the same repository again reuses its push row (a retry)."""
    obj = _object(session, project, kind, object_id)
    for run in source_runs(session, kind=kind, obj=obj):
        check_export(run=run, acknowledge_terms=data.acknowledge_terms)
    endpoint, token = credentials(session, project.id)
    if not token:
        raise Conflict(
            "this project has no Hub token: set one first (PUT .../hub, `distillery hub token`, or the "
            "project's Hub settings in the dashboard)",
            code="hub_token_missing",
        )
    push = session.scalar(
        select(HubPush).where(
            HubPush.project_id == project.id,
            HubPush.kind == kind,
            HubPush.object_id == object_id,
            HubPush.repo_id == data.repo_id,
        )
    )
    if push is not None and push.job_id is not None:
        job = session.get(Job, push.job_id)
        if job is not None and not job.status.finished:
            raise Conflict(
                f"{kind} {object_id} is already being pushed to {data.repo_id} (job {job.id})",
                code="push_in_progress",
                details={"job_id": job.id},
            )
    if push is None:
        push = HubPush(
            project_id=project.id, kind=kind, object_id=object_id, repo_id=data.repo_id, endpoint=endpoint
        )
        session.add(push)
    push.private, push.endpoint = data.private, endpoint
    session.flush()
    job = submit_job(session, project=project, kind="hub_push", params={"push_id": push.id}, user_id=user_id)
    push.job_id = job.id
    session.commit()
    log.info("queued hub push %s (%s %s -> %s) as job %s", push.id, kind, object_id, data.repo_id, job.id)
    return push_out(session, push)


def push_out(session: Session, push: HubPush) -> HubPushOut:
    job = session.get(Job, push.job_id) if push.job_id else None
    out = HubPushOut.model_validate(push)
    if job is not None:
        out.status, out.error = job.status, job.error
    return out


def list_pushes(
    session: Session, *, project: Project, kind: Kind | None = None, object_id: int | None = None
) -> list[HubPushOut]:
    """The project's pushes, newest first; kind and object_id narrow them to one snapshot or model."""
    stmt = select(HubPush).where(HubPush.project_id == project.id)
    if kind is not None:
        stmt = stmt.where(HubPush.kind == kind)
    if object_id is not None:
        stmt = stmt.where(HubPush.object_id == object_id)
    return [push_out(session, p) for p in session.scalars(stmt.order_by(HubPush.id.desc()).limit(200))]
