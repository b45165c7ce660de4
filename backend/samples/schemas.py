from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AliasPath, BaseModel, ConfigDict, Field


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
    reasoning_tokens: int | None = Field(
        None,
        description="The reasoning part's tokens: the server's count where it gave one, else the "
        "completion's tokens split by the reasoning's share of the text. None before migration 0035.",
    )
    latency_ms: int | None
    teacher_id: int | None = Field(
        None,
        description="The teacher that wrote it (rollout.teachers routes prompts); None before migration "
        "0036: the run's teacher.",
    )
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


class GenerationRow(GenerationOut):
    """One row of the sample browser: the attempt, the judge's score and the start of its prompt."""

    judge_score: float | None = Field(description="The judge's score; None where it never scored this one.")
    prompt_preview: str | None = Field(description="The first 240 characters of the prompt.")


class GenerationPage(BaseModel):
    items: list[GenerationRow]
    next_cursor: str | None = Field(None, description="The page after this one; None on the last page.")
    prev_cursor: str | None = Field(None, description="The page before this one; None on the first page.")


class PromptView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    position: int
    text: str
    system: str | None
    reference: str | None
    tests: Any = Field(
        None,
        validation_alias=AliasPath("meta", "tests"),
        description="The code verifier's tests (the prompt's meta.tests, in one of the import's forms); "
        "null when it has none",
    )


class GenerationDetail(BaseModel):
    """The trace view: the attempt, its prompt with the reference, and every verdict on it."""

    generation: GenerationOut
    prompt: PromptView | None
    verdicts: list[VerdictOut]
