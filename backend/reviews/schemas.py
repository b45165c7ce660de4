"""The review stage's contract and the review queue's API shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class RouteRule(BaseModel):
    """Whether one reason sends attempts to people, and at most how many (the tighter cap wins)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    route: bool = Field(True, description="Send attempts with this reason to review.")
    max_items: int | None = Field(
        None, ge=0, le=10_000_000, description="At most this many items for this reason; None: no cap."
    )
    max_share: float | None = Field(
        None,
        ge=0,
        le=1,
        description="At most this share of the run's attempts for this reason; None: no cap.",
    )


class AuditRule(BaseModel):
    """The random audit: a uniform sample of every attempt, whatever the machines said of it. Its labels
    are the only review labels calibration counts, since the router did not pick them."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    share: float = Field(0.05, ge=0, le=1, description="Share of all attempts drawn at random (seeded).")
    uncalibrated_share: float = Field(
        0.2,
        ge=0,
        le=1,
        description="The share instead while the judge has too few random labels to be calibrated.",
    )
    max_items: int | None = Field(
        None, ge=0, le=10_000_000, description="At most this many audit items; None: no cap."
    )
    max_share: float | None = Field(
        None, ge=0, le=1, description="At most this share of the run's attempts; None: no cap."
    )


class ReviewSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    disagreement: RouteRule = Field(
        RouteRule(route=True),
        description="A verifier and the judge disagree on the attempt.",
    )
    judge_unsure: RouteRule = Field(
        RouteRule(route=True),
        description="The judge's score lies between its thresholds, or within unsure_margin of accept.",
    )
    unsure_margin: float = Field(
        0,
        ge=0,
        le=1_000_000,
        description="A judge score this close to the accept threshold also counts as unsure (0: the "
        "judge's own unsure band only).",
    )
    judge_unparseable: RouteRule = Field(
        RouteRule(route=True),
        description="The judge's reply held no score and no verifier decided the attempt.",
    )
    reference_unparseable: RouteRule = Field(
        RouteRule(route=True),
        description="A verifier could not parse the reference (and no other verifier decided the attempt).",
    )
    judge_rejected: RouteRule = Field(
        RouteRule(route=False),
        description="The judge rejected the attempt and no verifier disagrees (a verifier agreeing or "
        "none deciding): off by default, nobody needs to confirm a reject both sides agree on.",
    )
    audit: AuditRule = Field(
        AuditRule(), description="A uniform random sample of all attempts (calibration's labels)."
    )
    overlap_share: float = Field(0.1, ge=0, le=1, description="Share of items two reviewers each decide.")
    seed: int = Field(0, ge=0, le=2**63 - 1, description="Seed of the audit draw, the caps and the overlap.")
    lease_s: int = Field(
        600, ge=10, le=86_400, description="How long a claimed item stays a reviewer's without a heartbeat."
    )
    max_items: int = Field(1_000_000, ge=0, le=10_000_000, description="At most this many items are routed.")

    @model_validator(mode="before")
    @classmethod
    def _legacy_shares(cls, data: Any) -> Any:
        # recipes stored before the audit (runs to re-queue, saved YAML) named its shares at the top
        if isinstance(data, dict) and ("sample_share" in data or "uncalibrated_share" in data):
            data = dict(data)
            audit = dict(data.get("audit") or {})
            for old, new in (("sample_share", "share"), ("uncalibrated_share", "uncalibrated_share")):
                if old in data:
                    audit.setdefault(new, data.pop(old))
            data["audit"] = audit
        return data


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
    not_admissible: str | None = Field(
        None,
        description="Why no snapshot may ever admit this attempt (backend/datasets/admission.py: truncated, "
        "empty, no_answer), so accept is refused; None when it may.",
    )


class ClaimOut(BaseModel):
    item: ItemOut | None = Field(description="None when nothing is left for this reviewer.")
    left: int = Field(description="Slots nobody decided yet in the run's queue (0 once the review finished).")


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["accept", "reject", "edit", "skip"]
    content: str | None = Field(None, max_length=200_000, description="The edited answer (edit).")
    reasoning: str | None = Field(None, max_length=400_000, description="The edited reasoning (edit).")
    note: str = Field("", max_length=4000, description="Why, for the audit log.")
    admit_if_rejected: bool = Field(
        False,
        description="Edit only: admit the edited text into the snapshot even if the run's verifiers "
        "reject it (needs a note saying why).",
    )


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


class ReasonLoad(BaseModel):
    reason: str = Field(description="A routing reason (backend/reviews/routing.py).")
    routed: bool = Field(description="Switched on in the recipe.")
    expected: int | None = Field(
        description="Items expected for it: known before the run for the audit (its share of the attempts, "
        "capped); None where it depends on what the judge and the verifiers will say."
    )
    at_most: int = Field(description="Its most items: its cap, else every attempt; 0 when switched off.")


class ReviewLoad(BaseModel):
    """The review queue a recipe would fill, from its settings and the number of attempts."""

    reasons: list[ReasonLoad]
    expected: int = Field(description="Items known to come (the audit's).")
    at_most: int = Field(description="The most items the caps and max_items allow.")
    tasks_per_item: float = Field(description="Slots per item on average (1 + overlap_share).")
    calibrated: bool = Field(
        description="Whether the judge is calibrated now (the audit's share depends on it)."
    )
    basis: list[str] = Field(description="How each figure was worked out.")
