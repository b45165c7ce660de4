"""Uploaded files waiting for their import under DATA_DIR/uploads, and their removal.

An import job reads its file once and deletes it when its body ends (workers/jobs/prompt_sets.py). A
job that ends without its body running (cancelled while queued) has its file removed here, and the
workers' janitor (workers/keepalive.py) sweeps what a killed worker left: files older than
DISTILLERY_UPLOAD_ORPHAN_AFTER_H that no queued job, and no running job that beat within that time,
will read.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core.config import get_settings
from backend.jobs.models import Job
from backend.runs.models import Status

log = logging.getLogger(__name__)


def upload_of(job: Job) -> Path | None:
    """The job's uploaded file, when it has one inside DATA_DIR/uploads (nothing else is ever removed)."""
    raw = (job.params or {}).get("path")
    if not raw:
        return None
    path = Path(raw).resolve()
    root = get_settings().uploads_dir.resolve()
    return path if path.is_relative_to(root) else None


def discard(job: Job) -> None:
    """Remove a job's upload once the job has ended."""
    path = upload_of(job)
    if path is not None:
        path.unlink(missing_ok=True)


def sweep_orphans(session: Session, *, now: datetime | None = None) -> int:
    """Delete uploads older than the limit that no waiting or live job needs; returns how many."""
    root = get_settings().uploads_dir
    if not root.is_dir():
        return 0
    limit_s = get_settings().upload_orphan_after_h * 3600
    now = now or datetime.now(UTC)
    needed: set[Path] = set()
    for job in session.scalars(
        select(Job).where(Job.status.in_([Status.queued, Status.running, Status.cancelling]))
    ):
        beat = job.heartbeat_at or job.started_at or job.created_at
        alive = job.status == Status.queued or (beat is not None and (now - beat).total_seconds() < limit_s)
        path = upload_of(job)
        if alive and path is not None:
            needed.add(path)
    removed = 0
    cutoff = time.time() - limit_s
    for path in root.iterdir():
        try:
            if path.is_file() and path.resolve() not in needed and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:  # another worker's janitor took it first
            continue
    return removed
