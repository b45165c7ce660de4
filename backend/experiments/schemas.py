"""The experiments API's shapes: an experiment, its table, and the pressure test."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.core.ids import Id
from backend.experiments.verdict import DEFAULT_MARGIN


class ExperimentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    run_ids: list[Id] = Field(
        min_length=1,
        max_length=100,
        description="Runs with an evaluate stage over one prompt set and evaluation set, in table order.",
    )


class PressureTestCreate(BaseModel):
    """Before spending: the base student and the teacher on a sample of held-out prompts."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str | None = Field(None, min_length=1, max_length=200, description="Default: pressure test <n>.")
    prompt_set_id: Id
    teacher_id: Id
    student: str = Field(
        min_length=1,
        max_length=1000,
        description="The student before training: a hub id, artifact:<id> or a path under "
        "DISTILLERY_MODEL_ROOTS (as train.student).",
    )
    student_backend: Literal["transformers_local", "vllm"] = "transformers_local"
    split: Literal["eval", "train", "all"] = Field("eval", description="Held-out prompts: the eval split.")
    sample: int = Field(100, ge=1, le=10_000, description="The first N prompts of the split.")
    margin: float = Field(
        DEFAULT_MARGIN,
        ge=0,
        le=1,
        description="Materially better: the lower bound of teacher minus student accuracy above this (0.05: "
        "5 points).",
    )
    max_tokens: int = Field(512, ge=1, le=65_536, description="Per answer.")
    k: int = Field(1, ge=1, le=16, description="Samples per prompt: 1 is greedy.")


class Score(BaseModel):
    label: str
    evaluation_id: int
    pass_at_1: float
    pass_at_1_ci: list[float] = Field(description="Bootstrap 95% interval (low, high).")


class Difference(BaseModel):
    difference: float | None = Field(description="Mean over shared prompts of the per-prompt difference.")
    ci: list[float] | None = Field(description="Paired bootstrap 95% interval (low, high).")
    prompts: int = Field(description="Prompts both evaluations answered.")


class Factor(BaseModel):
    name: str = Field(description="attempts per prompt, teacher, filter ... or the recipe path.")
    path: str = Field(description="Where in the recipe: rollout.n, teacher_id, stages.filter ...")


class ExperimentRow(BaseModel):
    run_id: int
    run_name: str
    status: str
    factors: dict[str, Any] = Field(description="This run's value of each factor, by factor path.")
    student: Score | None
    base: Score | None = Field(
        description="The base student: this run's, else another run's of the experiment."
    )
    teacher: Score | None
    gain: Difference | None = Field(description="Student minus base accuracy, paired over the prompts.")
    teacher_usd: float = Field(description="The rollout's and the judge's cost (backend/runs/cost.py).")
    gpu_seconds: float = Field(
        description="The teacher's GPU time in the rollout plus the train and score stages."
    )
    usd_per_point: float | None = Field(
        description="teacher_usd per point (1%) gained over the base student."
    )
    gpu_seconds_per_point: float | None


class PressureResult(BaseModel):
    status: str = Field(description="The run's status; the verdict exists only once it succeeded.")
    margin: float
    teacher: Score | None
    student: Score | None
    difference: Difference | None = Field(description="Teacher minus base student accuracy.")
    verdict: Literal["material", "not_material", "inconclusive"] | None
    material: bool | None
    sentence: str | None = Field(description="The verdict in plain words.")
    error: str | None = Field(description="Why the run failed: no verdict on the data.")


class ExperimentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: Literal["compare", "pressure"]
    auto: bool
    prompt_set_id: int | None
    eval_set: dict[str, Any]
    run_ids: list[int]
    settings: dict[str, Any]
    created_at: datetime


class ExperimentDetail(ExperimentOut):
    eval_set_label: str
    factors: list[Factor]
    rows: list[ExperimentRow]
    pressure: PressureResult | None = Field(description="The verdict, for kind pressure.")
