"""Throttled progress writes that double as the cancellation check, for stages and jobs alike."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Generic, TypeVar

from backend.core.config import get_settings
from backend.core.db import get_engine, session_scope
from backend.jobs.models import Job
from backend.runs.models import RunStage, Status

Row = TypeVar("Row", RunStage, Job)  # both carry status, progress_done, progress_total, heartbeat_at


def side_writes_allowed() -> bool:
    """False on SQLite: while a task holds the write lock for a long import, no other connection may
    write, so such tasks report progress only at their edges there."""
    return get_engine().dialect.name != "sqlite"


class Cancelled(Exception):
    """Raised inside a stage or job once a user cancelled it."""


class ProgressReporter(Generic[Row]):
    """Writes progress_done/progress_total/heartbeat_at on one row of `model` at most once per interval."""

    model: type[Row]

    def __init__(self, row_id: int):
        self.row_id = row_id
        self._interval = get_settings().progress_interval_s
        self._last_write = float("-inf")  # the first report is always written

    def progress(self, done: int, total: int | None = None, *, force: bool = False) -> None:
        """Record progress (throttled unless force); raises Cancelled once the user cancelled."""
        now = time.monotonic()
        if not force and now - self._last_write < self._interval:
            return
        self._last_write = now
        with session_scope() as s:
            row = s.get_one(self.model, self.row_id)
            row.progress_done = done
            if total is not None:
                row.progress_total = total
            row.heartbeat_at = datetime.now(UTC)
            cancelled = row.status in (Status.cancelling, Status.cancelled)
        if cancelled:
            raise Cancelled()
