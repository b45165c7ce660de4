from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from backend.rollouts.schemas import RolloutSettings
from backend.runs.models import Status
from backend.runs.stages import STAGES

RECIPE_VERSION = 1


class ProfileSettings(BaseModel):
    percentiles: list[int] = Field([50, 90, 95, 99], description="Length percentiles to report.")

    @field_validator("percentiles")
    @classmethod
    def _in_range(cls, v: list[int]) -> list[int]:
        if not v or any(p < 0 or p > 100 for p in v):
            raise ValueError("percentiles must be between 0 and 100")
        return sorted(set(v))


class Recipe(BaseModel):
    """Everything a run needs; stored whole with the run so any number can be traced to it."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = RECIPE_VERSION
    prompt_set_id: int = Field(ge=1)
    teacher_id: int | None = Field(None, ge=1)
    stages: list[str] = Field(["profile"], min_length=1)
    profile: ProfileSettings = Field(default_factory=ProfileSettings)
    rollout: RolloutSettings = Field(default_factory=RolloutSettings)

    @field_validator("stages")
    @classmethod
    def _known_stages(cls, v: list[str]) -> list[str]:
        unknown = [s for s in v if s not in STAGES]
        if unknown:
            raise ValueError(f"unknown stage(s) {unknown}; known: {sorted(STAGES)}")
        if len(set(v)) != len(v):
            raise ValueError("a stage may appear only once")
        return v

    @model_validator(mode="after")
    def _teacher_for_rollout(self) -> Recipe:
        if "rollout" in self.stages and self.teacher_id is None:
            raise ValueError("the rollout stage needs teacher_id")
        return self


class RunCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    recipe: Recipe


class StageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    run_id: int
    position: int
    kind: str
    status: Status
    progress_done: int
    progress_total: int | None
    metrics: dict[str, Any]
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class RunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    project_id: int
    name: str
    status: Status
    recipe: dict[str, Any]
    prompt_set_id: int | None
    teacher_id: int | None
    summary: dict[str, Any]
    warnings: list[str]
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class RunDetail(RunOut):
    stages: list[StageOut]
