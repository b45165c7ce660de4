"""Snapshots: read, list, and the files a download may name."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core.config import get_settings
from backend.core.errors import NotFound
from backend.core.pagination import keyset
from backend.datasets.export import check_export
from backend.datasets.models import DatasetSnapshot
from backend.projects.models import Project
from backend.runs.models import Run


def get_snapshot(session: Session, *, project: Project, snapshot_id: int) -> DatasetSnapshot:
    """A snapshot of this project, or 404."""
    snap = session.get(DatasetSnapshot, snapshot_id)
    if snap is None or snap.project_id != project.id:
        raise NotFound(f"snapshot {snapshot_id} not found")
    return snap


def list_snapshots(
    session: Session, *, project: Project, limit: int, cursor: str | None, run_id: int | None = None
) -> tuple[list[DatasetSnapshot], str | None]:
    """A page of snapshots, newest first."""
    stmt = select(DatasetSnapshot).where(DatasetSnapshot.project_id == project.id)
    if run_id is not None:
        stmt = stmt.where(DatasetSnapshot.run_id == run_id)
    rows, nxt = keyset(session, stmt, DatasetSnapshot.id, limit=limit, cursor=cursor)
    return list(rows), nxt


def snapshot_file(session: Session, *, snap: DatasetSnapshot, name: str, acknowledge_terms: bool) -> Path:
    """The path of one of the snapshot's files, after the licence guard of the run it came from. Only
    names the snapshot lists are served, so no path ever leaves its folder."""
    if name not in (snap.files or {}):
        raise NotFound(f"snapshot {snap.id} has no file {name!r}; it has {sorted(snap.files or {})}")
    run = session.get(Run, snap.run_id) if snap.run_id else None
    if run is not None:
        check_export(run=run, acknowledge_terms=acknowledge_terms)
    path = get_settings().data_dir / "snapshots" / str(snap.project_id) / snap.content_hash / name
    if not path.is_file():
        raise NotFound(f"the files of snapshot {snap.id} are gone from the data directory")
    return path
