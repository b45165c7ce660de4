"""Rubric input/output, and the judge stage's settings and summary."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from backend.judge.prompt import FIELDS, placeholders


class RubricIn(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    template: str = Field(
        min_length=1,
        max_length=50_000,
        description="The judge's prompt; {question}, {reference}, {reasoning} and {answer} are filled in "
        '(other braces are left alone). It should ask for JSON {"score": ..., "rationale": ...}.',
    )
    scale: Literal["score", "pass_fail"] = Field("score", description="A numeric score, or pass/fail.")
    scale_min: float = Field(1, description="Lowest score on the scale (score scales).")
    scale_max: float = Field(5, description="Highest score on the scale (score scales).")
    pass_score: float | None = Field(
        None,
        description="Accept at or above this score until calibration says otherwise; default the top "
        "of the scale.",
    )
    note: str = Field("", max_length=2000, description="What changed in this version.")

    @model_validator(mode="after")
    def _check(self) -> RubricIn:
        unknown = placeholders(self.template) - set(FIELDS)
        if "answer" not in placeholders(self.template):
            raise ValueError("the template must contain {answer}")
        if unknown:
            raise ValueError(f"unknown placeholders {sorted(unknown)}; known: {list(FIELDS)}")
        if self.scale == "pass_fail":
            self.scale_min, self.scale_max = 0, 1
        if self.scale_min >= self.scale_max:
            raise ValueError("scale_min must be below scale_max")
        if self.pass_score is None:
            self.pass_score = self.scale_max
        if not self.scale_min <= self.pass_score <= self.scale_max:
            raise ValueError("pass_score must lie on the scale")
        return self


class RubricOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    project_id: int
    version: int
    template: str
    scale: str
    scale_min: float
    scale_max: float
    pass_score: float
    note: str
    created_at: datetime


class JudgeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    rubric_version: int | None = Field(
        None, ge=1, le=2**31 - 1, description="The project's rubric version; None: latest."
    )
    teacher_id: int | None = Field(
        None, ge=1, le=2**31 - 1, description="The judge endpoint (a teacher); None: the run's."
    )
    accept_threshold: float | None = Field(
        None, description="Accept at or above this score; None: calibrated, else the rubric's pass_score."
    )
    reject_threshold: float | None = Field(
        None, description="Reject below this score; between the two is unsure. None: as accept_threshold."
    )
    target_precision: float = Field(0.95, gt=0, le=1, description="Precision calibration aims for.")
    overrides_verifiers: bool = Field(
        False, description="The judge decides every attempt; by default only those no verifier decided."
    )
    json_mode: bool = Field(True, description="Ask for response_format json_object where supported.")
    use_cache: bool = Field(True, description="Answer identical judge requests from the cache.")
    max_tokens: int = Field(512, ge=1, le=32_768, description="Longest judge reply.")
    temperature: float = Field(0.0, ge=0, le=2, description="Judge sampling temperature.")
    chunk_size: int = Field(64, ge=1, le=100_000, description="Prompts per Celery task.")
    concurrency: int = Field(16, ge=1, le=1024, description="Judge requests in flight per task.")
    max_retries: int = Field(3, ge=0, le=20, description="Retries of a failed judge request.")
    timeout_s: float = Field(120, gt=0, le=3600, description="Per judge request.")


class Thresholds(BaseModel):
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    accept: float = Field(description="Accept at or above.")
    reject: float = Field(description="Reject below.")
    source: Literal["settings", "calibrated", "rubric"] = Field(description="Where they came from.")
    labels: int = Field(0, description="Human labels calibration saw.")


class JudgeSummary(BaseModel):
    judged: int = Field(description="Attempts with a judge verdict.")
    accepted: int
    rejected: int
    unsure: int = Field(description="Scored between the thresholds.")
    unparseable: int = Field(description="Replies with no score in them (never a pass).")
    verifier_decided: int = Field(
        0,
        description="Unparseable replies on attempts the verifiers had decided, whose decision then stood "
        "(the judge was to decide them: overrides_verifiers).",
    )
    errors: int = Field(description="Judge requests that failed after every retry.")
    cached: int = Field(description="Replies answered from the cache (not paid).")
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float = Field(description="The judge's cost.")
    rubric_version: int
    thresholds: Thresholds
    elapsed_s: float
    chunks: dict[str, int] = Field(description="Chunks by status.")


class Confusion(BaseModel):
    true_accept: int
    false_accept: int
    false_reject: int
    true_reject: int


class AgreementOut(BaseModel):
    """The judge's 'accept at or above threshold' against the human labels."""

    threshold: float
    labels: int
    accuracy: float | None
    kappa: float | None = Field(description="Cohen's kappa; None where it is undefined (one class only).")
    precision: float | None = Field(description="Of accept.")
    precision_ci95: list[float] | None = Field(description="Bootstrap 95% interval.")
    recall: float | None = Field(description="Of accept.")
    recall_ci95: list[float] | None
    confusion: Confusion


class CurvePoint(BaseModel):
    threshold: float = Field(description="Accept at or above this judge score.")
    accepted: int = Field(description="Labelled attempts accepted there.")
    precision: float
    recall: float | None
    coverage: float = Field(description="Share of labelled attempts accepted there.")


class CalibrationThresholds(BaseModel):
    accept: float
    reject: float


class LabelBasis(BaseModel):
    """Which labels the figures rest on."""

    random: int = Field(description="Labels drawn at random (the review's audit, imports): the figures' own.")
    picked: int = Field(description="Labels of attempts the router picked (disagreements, ...): not counted.")
    by_reason: dict[str, int] = Field(
        description="Labelled attempts by how they reached people: a review reason, or `import`."
    )
    text: str = Field(description="The same in words, for the judge page.")


class CalibrationOut(BaseModel):
    rubric_version: int
    status: Literal["calibrated", "too_few_labels", "target_unreachable"]
    message: str
    target_precision: float
    labels: int
    min_labels: int = Field(description="Labels calibration needs before it chooses thresholds.")
    at_pass_score: AgreementOut = Field(description="Agreement at the rubric's pass_score.")
    at_accept_threshold: AgreementOut | None = Field(None, description="Agreement at the chosen threshold.")
    thresholds: CalibrationThresholds | None
    coverage: float | None = Field(description="Share of labelled attempts the thresholds decide.")
    curve: list[CurvePoint] = Field(description="Precision, recall and coverage per threshold, lowest first.")
    basis: LabelBasis
    picked: AgreementOut | None = Field(
        None,
        description="Agreement at pass_score on the picked labels only: a biased sample (the router chose "
        "them for disagreeing or doubt), never the judge's accuracy.",
    )
