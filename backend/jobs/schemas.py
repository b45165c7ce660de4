from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from backend.runs.models import Status


class JobOut(BaseModel):
    """A long operation: poll until status is succeeded, failed or cancelled."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    project_id: int
    kind: str
    status: Status
    progress_done: int
    progress_total: int | None
    result: dict[str, Any]
    error: dict[str, Any] | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
