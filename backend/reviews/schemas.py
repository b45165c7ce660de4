"""The review stage's contract and the review queue's API shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ReviewSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    sample_share: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Share of accepted attempts sent to review (seeded), to keep measuring precision.",
    )
    uncalibrated_share: float = Field(
        0.2, ge=0, le=1, description="The share instead, while the judge has too few labels to be calibrated."
    )
    overlap_share: float = Field(0.1, ge=0, le=1, description="Share of items two reviewers each decide.")
    seed: int = Field(0, ge=0, le=2**63 - 1, description="Seed of the sampled and overlap shares.")
    lease_s: int = Field(
        600, ge=10, le=86_400, description="How long a claimed item stays a reviewer's without a heartbeat."
    )
    max_items: int = Field(1_000_000, ge=0, le=10_000_000, description="At most this many items are routed.")


class ReviewSummary(BaseModel):
    routed: int = Field(description="Generations routed to the queue.")
    tasks: int = Field(description="Review slots (an overlap item has two).")
    by_reason: dict[str, int] = Field(description="Routed generations by why.")
    decided: int = Field(description="Slots decided.")
    accepted: int
    rejected: int
    edited: int
    skipped: int = Field(description="Skip decisions (the item went back to the queue).")
    closed: bool = Field(description="A maintainer closed the queue before it was drained.")
    left: int = Field(description="Slots nobody decided.")
    alpha: float | None = Field(None, description="Krippendorff's alpha over the overlap items.")


class ItemVerdict(BaseModel):
    """One verifier's (or the judge's) verdict on the attempt."""

    verifier: str
    version: str = Field(description="The verifier's version.")
    status: str
    passed: bool | None = Field(description="None: the verifier could not decide.")
    score: float | None
    detail: dict[str, Any]


class ItemOut(BaseModel):
    """A claimed item: the lease, the attempt and what the machines said about it."""

    task_id: int
    run_id: int
    generation_id: int
    reason: str
    lease_until: datetime
    prompt: list[dict[str, Any]]
    reference: str | None
    reasoning: str | None
    content: str | None
    verdicts: list[ItemVerdict] = Field(description="Verifier and judge verdicts on the attempt.")


class ClaimOut(BaseModel):
    item: ItemOut | None = Field(description="None when nothing is left for this reviewer.")
    left: int = Field(description="Slots nobody decided yet in the run's queue (0 once the review finished).")


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["accept", "reject", "edit", "skip"]
    content: str | None = Field(None, max_length=200_000, description="The edited answer (edit).")
    reasoning: str | None = Field(None, max_length=400_000, description="The edited reasoning (edit).")
    note: str = Field("", max_length=4000, description="Why, for the audit log.")


class DecisionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    task_id: int | None
    generation_id: int
    reviewer_id: int | None
    decision: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    note: str
    undone: bool
    created_at: datetime


class PairAgreement(BaseModel):
    reviewers: list[int]
    items: int
    kappa: float | None


class ReviewerStats(BaseModel):
    reviewer_id: int
    decided: int
    overlap_items: int
    agreement: float | None = Field(
        description="Share of overlap items where this reviewer agrees with the other."
    )


class QueueOut(BaseModel):
    run_id: int
    stage_status: str | None
    states: dict[str, int] = Field(description="Slots by state.")
    by_reason: dict[str, int] = Field(
        description="Routed attempts by why, counted as the stage summary counts them (an overlap item once)."
    )
    slots_by_reason: dict[str, int] = Field(
        default_factory=dict, description="Review slots by why (an overlap item has two): a secondary figure."
    )
    pairs: list[PairAgreement]
    alpha: float | None
    reviewers: list[ReviewerStats]
