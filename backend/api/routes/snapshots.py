"""Dataset snapshots cut from runs: list, read, the card, and file downloads."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, PlainTextResponse

from backend.api.deps import Maintainer, SessionDep, Viewer
from backend.core.ids import PathId, QueryId
from backend.core.pagination import Page
from backend.datasets import service
from backend.datasets.schemas import SnapshotOut

router = APIRouter(prefix="/projects/{project_id}", tags=["snapshots"])
SnapshotId = PathId
MEDIA = {
    ".parquet": "application/vnd.apache.parquet",
    ".jsonl": "application/x-ndjson",
    ".md": "text/markdown",
}


@router.get("/snapshots", operation_id="listSnapshots")
def list_snapshots(
    session: SessionDep,
    access: Viewer,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
    run_id: QueryId | None = None,
) -> Page[SnapshotOut]:
    """Snapshots, newest first, a page at a time; run_id narrows them to one run."""
    rows, nxt = service.list_snapshots(
        session, project=access.project, limit=limit, cursor=cursor, run_id=run_id
    )
    return Page[SnapshotOut](items=[SnapshotOut.model_validate(r) for r in rows], next_cursor=nxt)


@router.get("/snapshots/{snapshot_id}", operation_id="getSnapshot")
def get_snapshot(session: SessionDep, access: Viewer, snapshot_id: SnapshotId) -> SnapshotOut:
    return SnapshotOut.model_validate(
        service.get_snapshot(session, project=access.project, snapshot_id=snapshot_id)
    )


@router.get("/snapshots/{snapshot_id}/card", operation_id="getSnapshotCard", response_class=PlainTextResponse)
def snapshot_card(session: SessionDep, access: Viewer, snapshot_id: SnapshotId) -> str:
    """The snapshot's README.md: the Hub's YAML header, sources, verifiers, counts after each filter."""
    snap = service.get_snapshot(session, project=access.project, snapshot_id=snapshot_id)
    return (snap.card or {}).get("markdown", "")


@router.get(
    "/snapshots/{snapshot_id}/files/{name}",
    operation_id="downloadSnapshotFile",
    response_class=FileResponse,
    responses={200: {"content": {m: {} for m in MEDIA.values()}}},
)
def download_file(
    session: SessionDep,
    access: Maintainer,
    snapshot_id: SnapshotId,
    name: str,
    acknowledge_terms: bool = False,
) -> FileResponse:
    """One file of the snapshot (messages.parquet, preference.jsonl, README.md...). A teacher whose terms
    forbid training competing models needs acknowledge_terms=true (403 terms_not_acknowledged)."""
    snap = service.get_snapshot(session, project=access.project, snapshot_id=snapshot_id)
    path = service.snapshot_file(session, snap=snap, name=name, acknowledge_terms=acknowledge_terms)
    return FileResponse(path, media_type=MEDIA.get(path.suffix, "application/octet-stream"), filename=name)
