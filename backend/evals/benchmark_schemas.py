"""The benchmark stage's contract: which models run which lm-evaluation-harness task suites (YAML task
files and their data, read from local folders), and what each task scored."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from backend.evals.schemas import Role


class BenchModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role = Field(description="base: the student before training; student: a trained one; teacher.")
    label: str | None = Field(None, max_length=100, description="Shown in reports; default: the role.")
    model: str | None = Field(
        None,
        max_length=1000,
        description="Hub id, artifact:<id> (a model this project trained) or a local path under "
        "DISTILLERY_MODEL_ROOTS, run by lm-eval's `hf` model in the worker. Default: the run's trained "
        "student (student), the train stage's student (base), the run's teacher (teacher).",
    )
    teacher_id: int | None = Field(
        None,
        ge=1,
        le=2**31 - 1,
        description="A teacher of the project: a served endpoint (base_url) is asked through lm-eval's "
        "local-chat-completions (or local-completions, see `api`); a local one runs on `hf`. Default for "
        "role teacher: the run's teacher.",
    )
    api: Literal["chat", "completions"] = Field(
        "chat",
        description="For an endpoint: /chat/completions (generation tasks only) or /completions "
        "(also log-likelihood tasks, where the server returns prompt logprobs).",
    )
    batch_size: int = Field(1, ge=1, le=1024, description="hf: sequences per forward pass.")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="hf: weights' dtype."
    )
    num_concurrent: int = Field(8, ge=1, le=256, description="Endpoint: requests in flight.")

    @model_validator(mode="after")
    def _one_source(self) -> BenchModel:
        if self.model is not None and self.teacher_id is not None:
            raise ValueError("name either model or teacher_id, not both")
        return self


class Suite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(
        max_length=1000,
        description="A folder of lm-eval task YAMLs and their data files, under DISTILLERY_BENCHMARK_ROOTS. "
        "A YAML's relative data_files are read beside it.",
    )
    tasks: list[str] | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="The task names to run; default: every task the folder's YAMLs define.",
    )


class BenchmarkSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    suites: list[Suite] = Field(
        [],
        max_length=50,
        description="Task folders to run; a recipe with a benchmark stage names one at least.",
    )
    models: list[BenchModel] = Field(
        default_factory=lambda: [
            BenchModel(role="base"),
            BenchModel(role="student"),
            BenchModel(role="teacher"),
        ],
        min_length=1,
        max_length=20,
        description="Who is evaluated. A default model the run does not have (no teacher, nothing trained) "
        "is left out.",
    )
    max_gen_toks: int | None = Field(
        32_768,
        ge=1,
        le=262_144,
        description="Tokens a generation task may write (reasoning included), for every task: generous, "
        "since a reasoning model cut off inside its thinking scores nothing. None: each task's own.",
    )
    strip_think: bool = Field(
        True,
        description="Remove <think>...</think> (and everything before a lone </think>) from a generation "
        "before the task's filters and metrics see it; a reasoning cut off before </think> scores as an "
        "empty answer.",
    )
    apply_chat_template: bool = Field(
        True, description="Render prompts with the model's chat template (lm-eval's apply_chat_template)."
    )
    num_fewshot: int | None = Field(None, ge=0, le=64, description="None: each task's own.")
    limit: int | None = Field(None, ge=1, le=10_000_000, description="The first N documents of each task.")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="lm-eval's random, numpy and torch seeds.")
    bootstrap_iters: int = Field(1000, ge=0, le=100_000, description="For the metrics' standard errors.")

    @model_validator(mode="after")
    def _unique_labels(self) -> BenchmarkSettings:
        labels = [m.label or m.role for m in self.models]
        if len(set(labels)) != len(labels):
            raise ValueError(f"each model needs its own label; got {labels}")
        return self


def check_benchmark(recipe: Any) -> list[str]:
    """A benchmark stage with nothing to run is refused when the run is created, not in the worker."""
    bench: BenchmarkSettings = recipe.settings_of("benchmark")
    return [] if bench.suites else ["benchmark.suites: name at least one folder of task YAMLs"]


class TaskScore(BaseModel):
    """One task's metrics for one model, as lm-eval computed them."""

    task: str
    suite: str = Field(description="The suite folder the task came from.")
    metrics: dict[str, float | None] = Field(
        description="lm-eval's `metric,filter` keys (exact_match,strict), standard errors as `..._stderr`."
    )
    samples: int = Field(description="Documents scored.")
    config_hash: str = Field(
        description="SHA-256 of the model's files, the task files, lm-eval's version and the settings."
    )


class BenchmarkModelScore(BaseModel):
    label: str
    role: Role
    model: str
    tasks: list[TaskScore]


class BenchmarkSummary(BaseModel):
    lm_eval_version: str
    models: list[BenchmarkModelScore]


class BenchmarkResultOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    run_id: int | None
    stage_id: int | None
    artifact_id: int | None
    label: str
    role: str
    model: str
    task: str
    suite: str
    metrics: dict[str, float | None]
    samples: int
    lm_eval_version: str
    config_hash: str
    created_at: datetime
