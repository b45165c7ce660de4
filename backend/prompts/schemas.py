from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ColumnMapping(BaseModel):
    """Which columns hold what; None means 'recognise the usual layouts' (GSM8K, MATH, chat)."""

    prompt: str | None = Field(None, description="Column with the prompt text, or chat messages.")
    system: str | None = Field(None, description="Column with an optional system prompt.")
    reference: str | None = Field(None, description="Column with the reference answer.")
    metadata: list[str] | None = Field(None, description="Columns kept as metadata; default: the rest.")


class RowError(BaseModel):
    row: int = Field(description="1-based line (JSONL) or data row (CSV) in the file.")
    field: str | None
    reason: str
    message: str


class ImportReport(BaseModel):
    rows_read: int
    rows_stored: int
    rows_rejected: int
    errors: list[RowError] = Field(description="The first 200 rejected rows.")
    reasons: dict[str, int] = Field(description="Rejected rows per reason.")


class PromptSetOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    project_id: int
    name: str
    version: int
    parent_id: int | None
    source: str
    status: str
    frozen: bool
    prompt_count: int
    stats: dict[str, Any]
    created_at: datetime


class PromptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    position: int
    text: str
    system: str | None
    messages: list[dict[str, Any]] | None
    reference: str | None
    meta: dict[str, Any]
    split: str
