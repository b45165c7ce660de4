from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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
    accepted: bool | None = Field(
        description="The filter stage's decision; None until filtered or undecided."
    )
    created_at: datetime


class VerdictOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    generation_id: int
    verifier: str
    verifier_version: str
    status: str = Field(description="passed | wrong | unparseable | timeout | error | reference_unparseable")
    passed: bool | None
    score: float | None
    detail: dict[str, Any]
    duration_ms: float
    created_at: datetime
