from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class GenerationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    run_id: int
    prompt_id: int
    attempt: int
    status: str
    reasoning: str | None
    content: str | None
    finish_reason: str | None
    truncated: bool
    error: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_ms: int | None
    from_cache: bool
    created_at: datetime
