"""Snapshots: the selection policy that cuts one from a run, what it reports, and how it is shown."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class SnapshotSettings(BaseModel):
    """Which verified attempts become training rows. Applied in this order: pass-rate band, near
    duplicates, at most k per prompt."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str | None = Field(None, max_length=200, description="The snapshot's name; default: the run's.")
    include: Literal["accepted", "all"] = Field(
        "accepted",
        description="accepted: the attempts the filter kept; all: every finished attempt, unfiltered (an "
        "ablation that shows what filtering buys).",
    )
    reasoning: Literal["keep", "drop"] = Field(
        "keep", description="drop: the answer alone, without the reasoning (an ablation of the traces)."
    )
    pass_rate_band: tuple[float, float] | None = Field(
        None,
        description="Keep prompts whose share of accepted attempts lies in [low, high]: (0.1, 0.9) drops "
        "prompts the teacher always or never solves, as open-r1 does. None keeps every prompt.",
    )
    drop_near_duplicates: bool = Field(True, description="Drop near-duplicate attempts of the same prompt.")
    near_duplicate_jaccard: float = Field(
        0.8, gt=0, le=1, description="Word 5-gram Jaccard from which two attempts count as near duplicates."
    )
    max_per_prompt: int | None = Field(None, ge=1, le=1024, description="At most k attempts per prompt.")
    pick: Literal["shortest", "random", "judge_score", "shortest_verified"] = Field(
        "shortest",
        description="Which attempts max_per_prompt keeps: the shortest, a seeded random few, or the best by "
        "the LLM judge's score (best-of-N; needs the judge stage earlier in the recipe). shortest_verified: "
        "per prompt the shortest verified traces whose reasoning is within `budget` tokens (max_per_prompt "
        "of them, 1 when unset); a prompt with none within the budget gives no row.",
    )
    budget: int | None = Field(
        None,
        ge=1,
        le=262_144,
        description="pick shortest_verified: the most reasoning tokens a kept trace may have (required).",
    )
    seed: int = Field(0, ge=-(2**63), le=2**63 - 1, description="Seed of the random pick.")
    preference_pairs: bool = Field(
        True, description="Also write chosen/rejected pairs (an accepted and a rejected attempt of a prompt)."
    )
    pairs_per_prompt: int = Field(1, ge=1, le=64, description="At most this many pairs per prompt.")

    @model_validator(mode="after")
    def _band(self) -> SnapshotSettings:
        if self.pass_rate_band is not None:
            lo, hi = self.pass_rate_band
            if not 0 <= lo <= hi <= 1:
                raise ValueError("pass_rate_band must be (low, high) with 0 <= low <= high <= 1")
        if self.pick == "shortest_verified" and self.budget is None:
            raise ValueError("budget: pick shortest_verified needs a reasoning budget (tokens)")
        if self.pick == "shortest_verified" and self.include != "accepted":
            raise ValueError(
                "include: pick shortest_verified keeps verified traces only; use include accepted"
            )
        if self.budget is not None and self.pick != "shortest_verified":
            raise ValueError("budget: only pick shortest_verified reads it")
        return self


class SnapshotCounts(BaseModel):
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    accepted: int = Field(description="Accepted attempts of the run.")
    after_cut_reasoning: int = Field(
        0,
        description="Accepted attempts whose reasoning is whole: a cut one is left out, never closed with "
        "a </think> the teacher did not write.",
    )
    excluded_truncated: int = Field(
        0, description="Accepted attempts left out: the teacher stopped at max_tokens (finish_reason length)."
    )
    excluded_no_answer: int = Field(
        0, description="Accepted attempts left out: reasoning with no answer after it (an unclosed <think>)."
    )
    excluded_empty: int = Field(
        0, description="Accepted attempts left out: no answer and no reasoning at all."
    )
    excluded_edit_rejected: int = Field(
        0,
        description="Reviewer edits left out: the run's verifiers reject the edited text and the edit was "
        "not saved with admit_if_rejected.",
    )
    rejected_cut: int = Field(
        0, description="Rejected attempts with a cut reasoning: never the rejected side of a preference pair."
    )
    rows_with_reasoning: int = Field(
        0, description="Rows whose assistant turn carries the teacher's reasoning (0: none, or dropped)."
    )
    after_pass_rate_band: int
    after_near_duplicates: int
    after_max_per_prompt: int
    prompts: int = Field(description="Prompts with at least one row.")
    preference_pairs: int
    human_accepted: int = Field(
        0, description="Attempts a reviewer accepted (admitted whatever the machines said)."
    )
    human_rejected: int = Field(0, description="Attempts a reviewer rejected (removed).")
    human_edits: int = Field(0, description="Attempts a reviewer edited (the edit replaces the original).")


class TeacherLogprobsInfo(BaseModel):
    """What a snapshot's teacher_logprobs.parquet holds (its Parquet metadata, and its row count)."""

    k: int = Field(description="Top-K log-probabilities per completion token.")
    tokenizer_hash: str = Field(description="sha256 of the teacher tokenizer's vocabulary; empty: unknown.")
    template_hash: str = Field(description="sha256 of the teacher's chat template; empty: none.")
    teacher: str = Field(description="The teacher's model.")
    source: Literal["rollout", "score"] = Field(
        description="rollout: captured while generating; score: the score stage asked the teacher later."
    )
    rows: int = Field(description="Rows: one per trained example that has them.")


class TaughtCount(BaseModel):
    """Which teacher taught which prompts: its rows in the snapshot (rollout.teachers routes prompts)."""

    teacher_id: int | None = Field(description="None: the run's teacher, since deleted.")
    name: str | None = Field(description="The teacher's name; None once it is deleted.")
    model: str | None = None
    prompts: int = Field(description="Prompts with at least one row written by it.")
    rows: int = Field(description="Its rows (messages / prompt_completion).")


class SnapshotSummary(BaseModel):
    snapshot_id: int
    content_hash: str
    counts: SnapshotCounts
    files: dict[str, int] = Field(description="File name -> size in bytes.")
    reused: bool = Field(description="An identical snapshot existed already; it was reused.")
    teacher_logprobs: TeacherLogprobsInfo | None = Field(
        None, description="The teacher logprob cache written with it (rollout.logprobs), or None."
    )
    teachers: list[TaughtCount] = Field(
        default_factory=list, description="Rows and prompts per teacher (the files' teacher_id column)."
    )


class SnapshotOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    project_id: int
    run_id: int | None
    name: str
    content_hash: str
    row_counts: dict[str, Any]
    files: dict[str, Any]
    teacher_logprobs: TeacherLogprobsInfo | None = Field(
        None, description="Its teacher logprob cache (teacher_logprobs.parquet), or None without one."
    )
    teachers: list[TaughtCount] = Field(
        default_factory=list, description="Rows and prompts per teacher (the files' teacher_id column)."
    )
    created_at: datetime

    @model_validator(mode="before")
    @classmethod
    def _teachers_apart(cls, data: Any) -> Any:
        """The counts per teacher are stored with the row counts (row_counts.teachers) and shown apart."""
        if not isinstance(data, dict):
            data = {name: getattr(data, name) for name in cls.model_fields if hasattr(data, name)}
        counts = dict(data.get("row_counts") or {})
        return {**data, "row_counts": counts, "teachers": counts.pop("teachers", [])}


def check_best_of_n(recipe) -> list[str]:
    """The snapshot's cross-stage rule (the registry's recipe check): best-of-N by judge score needs
    the judge stage's scores."""
    if (
        recipe.snapshot.pick == "judge_score"
        and "judge" not in recipe.stages[: recipe.stages.index("snapshot")]
    ):
        return [
            "snapshot.pick: judge_score ranks attempts by the judge's score; add 'judge' before 'snapshot'"
        ]
    return []
