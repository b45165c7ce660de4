"""The profile stage's contract: what it takes and what it reports about a prompt set."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class ProfileSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    percentiles: list[int] = Field(
        [50, 90, 95, 99],
        description="Length percentiles to report.",
        # the validator below checks the range (one error for the list); the schema states it
        json_schema_extra={"items": {"type": "integer", "minimum": 0, "maximum": 100}},
    )

    @field_validator("percentiles")
    @classmethod
    def _in_range(cls, v: list[int]) -> list[int]:
        if not v or any(p < 0 or p > 100 for p in v):
            raise ValueError("percentiles must be between 0 and 100")
        return sorted(set(v))


class LengthSummary(BaseModel):
    min: int = Field(description="Shortest prompt.")
    max: int = Field(description="Longest prompt.")
    mean: float
    percentiles: dict[str, float] = Field(description="Keyed like 'p50' (numpy's linear method).")


class ProfileSummary(BaseModel):
    prompt_count: int
    split: Literal["train", "eval", "all"] = Field(
        "all",
        description="The prompts profiled: in a run with a rollout, the split it covers (its count is the "
        "rollout's prompts); else all of the set.",
    )
    chars: LengthSummary = Field(description="Prompt lengths in characters.")
    words: LengthSummary = Field(description="Prompt lengths in whitespace-separated words.")
