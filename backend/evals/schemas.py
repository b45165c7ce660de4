"""The evaluate stage's contract: which models answer which held-out prompts, and the report."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from backend.teachers.settings import SETTINGS
from backend.verifiers.registry import VerifierCombo

Role = Literal["base", "student", "teacher", "other"]


class EvalModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role = Field(description="base: the student before training; student: a trained one; teacher.")
    label: str | None = Field(None, max_length=100, description="Shown in reports; default: the role.")
    model: str | None = Field(
        None,
        max_length=1000,
        description="Hub id, artifact:<id> (a model this project trained) or a local path under "
        "DISTILLERY_MODEL_ROOTS. Default: the run's trained student (student), the train stage's "
        "student (base), the run's teacher (teacher).",
    )
    backend: Literal["transformers_local", "vllm"] = Field(
        "transformers_local",
        description="How a local model generates: transformers_local (generate() in the worker) or vllm (a "
        "vLLM server the worker starts over the model, queried like a vllm teacher). A teacher row uses its "
        "own backend.",
    )
    settings: dict[str, Any] = Field(
        default_factory=dict,
        description="The backend's settings, as a teacher of that backend takes them: vllm "
        "gpu_memory_utilization, max_model_len, dtype, reasoning_parser, enforce_eager, extra_args...; "
        "transformers_local device, batch_size, dtype.",
    )

    @model_validator(mode="after")
    def _settings_of_the_backend(self) -> EvalModel:
        # the teacher's checks, so a bad flag fails the recipe now, not the worker's server start later
        try:
            checked = SETTINGS[self.backend].model_validate(self.settings)
        except ValidationError as exc:
            problems = "; ".join(
                f"settings.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]
            )
            raise ValueError(f"not valid for backend {self.backend}: {problems}") from None
        self.settings = checked.model_dump(exclude_none=True)
        return self


class CheckpointEval(BaseModel):
    """Which of the run's training checkpoints are evaluated besides the final model: every N steps or
    the last K. The train stage keeps them for this (their weights, not the optimizer state), whatever
    its save_total_limit (backend/evals/checkpoints.py)."""

    model_config = ConfigDict(extra="forbid")

    every: int | None = Field(
        None,
        ge=1,
        le=10_000_000,
        description="Evaluate the checkpoints at every N steps (a multiple of train.save_steps).",
    )
    last: int | None = Field(None, ge=1, le=1000, description="Evaluate the last K checkpoints.")

    @model_validator(mode="after")
    def _one_rule(self) -> CheckpointEval:
        if (self.every is None) == (self.last is None):
            raise ValueError("set exactly one of every (N steps) or last (K checkpoints)")
        return self


class EvalSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    split: Literal["eval", "train", "all"] = Field("eval", description="Which split of the run's prompt set.")
    prompt_set_id: int | None = Field(
        None, ge=1, le=2**31 - 1, description="Evaluate on this prompt set (of the project) instead."
    )
    models: list[EvalModel] = Field(
        default_factory=lambda: [
            EvalModel(role="base"),
            EvalModel(role="student"),
            EvalModel(role="teacher"),
        ],
        min_length=1,
        description="Who answers. A default model that does not exist in the run (no teacher, nothing "
        "trained) is left out.",
    )
    k: int = Field(1, ge=1, le=64, description="Samples per prompt: 1 is greedy; more are sampled.")
    temperature: float = Field(1.0, gt=0, le=2, description="For k > 1.")
    top_p: float = Field(1.0, gt=0, le=1)
    max_tokens: int = Field(512, ge=1, le=65_536, description="Per answer.")
    seed: int = Field(
        0, ge=0, le=2**32 - 1, description="Sampling seed; with it, re-running gives the same numbers."
    )
    max_prompts: int | None = Field(None, ge=1, le=10_000_000, description="The first N prompts only.")
    verifiers: VerifierCombo | None = Field(
        None,
        description="Default: the run's filter verifiers, else from the prompt set (tests: code; "
        "references: math); refused when none fits.",
    )
    bootstrap: int = Field(1000, ge=100, le=100_000, description="Resamples for the 95% intervals.")
    length_bins: int = Field(
        10, ge=1, le=100, description="Bins of the think-token histogram (accuracy against reasoning length)."
    )
    length_cutoffs: list[Annotated[int, Field(ge=1, le=1_000_000)]] = Field(
        [256, 512, 1024, 2048, 4096],
        max_length=32,
        description="Reasoning budgets (think tokens) at which accuracy is reported: an answer whose "
        "reasoning is longer than the cut-off counts as a failure.",
    )

    checkpoints: CheckpointEval | None = Field(
        None,
        description="Also evaluate the run's intermediate training checkpoints (every N steps or the last "
        "K) on the same prompts with the same scorer: accuracy against step, beside the loss curve. Needs "
        "a train stage in the run.",
    )

    @model_validator(mode="after")
    def _unique_labels(self) -> EvalSettings:
        labels = [m.label or m.role for m in self.models]
        if len(set(labels)) != len(labels):
            raise ValueError(f"each model needs its own label; got {labels}")
        taken = [x for x in labels if self.checkpoints and x.startswith("checkpoint-")]
        if taken:  # each evaluated checkpoint is labelled checkpoint-<step>
            raise ValueError(f"label {taken[0]!r}: checkpoint-<step> names the evaluated checkpoints")
        return self


class BudgetAccuracy(BaseModel):
    budget: int = Field(description="The cut-off, in think tokens.")
    accuracy: float = Field(description="Share of samples that passed with reasoning within the cut-off.")
    within: int = Field(description="Samples whose reasoning is within the cut-off, passed or not.")


class ReasoningLength(BaseModel):
    """Accuracy against reasoning length (think tokens: the server's count, else estimated from the text)."""

    edges: list[int] = Field(description="Bin edges, from 0 to the longest reasoning; one more than bins.")
    passing: list[int] = Field(description="Passing answers per bin.")
    failing: list[int] = Field(description="Failing answers per bin.")
    at_budget: list[BudgetAccuracy] = Field(
        description="Accuracy at each cut-off of evaluate.length_cutoffs."
    )
    unknown: int = Field(
        description="Samples whose reasoning length is unknown (failed requests), in no bin."
    )


class ModelScore(BaseModel):
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    label: str
    role: Role
    model: str
    evaluation_id: int
    params: int | None = Field(description="Parameter count, where the weights are local.")
    samples: int
    pass_at_1: float = Field(description="Mean over prompts of the share of correct samples.")
    pass_at_1_ci: list[float] = Field(
        min_length=2, max_length=2, description="Bootstrap 95% interval (low, high)."
    )
    pass_at_k: float = Field(description="Unbiased pass@k (Codex paper), k = samples per prompt.")
    maj_at_k: float = Field(description="Share of prompts whose most common answer is correct.")
    mean_output_tokens: float
    truncation_rate: float
    config_hash: str = Field(
        description="SHA-256 of model and tokenizer files, chat template, sampling, seed, max lengths, "
        "verifier versions and, other than transformers_local with defaults, the backend and its settings."
    )
    verifiers: list[str] = Field([], description="The verifiers that scored the answers, in order.")
    verifiers_source: str | None = Field(
        None,
        description="Where they came from: evaluate.verifiers, the run's filter stage, or what the prompt "
        "set holds (tests: code; references: math).",
    )
    backend: str | None = Field(None, description="What generated: transformers_local, vllm, openai_compat.")
    served_prompt: str | None = Field(
        None,
        description="The first prompt as the model was served it, decoded with its tokenizer: the chat "
        "template's render (transformers_local) or what the vLLM server rendered (vllm, its /tokenize). "
        "None for an endpoint. Shows which template a model was evaluated under.",
    )
    reasoning_length: ReasoningLength | None = Field(
        None, description="Accuracy against reasoning length; None in evaluations made before it."
    )
    step: int | None = Field(
        None, description="The training step of an evaluated checkpoint (evaluate.checkpoints); None: models."
    )


class Comparison(BaseModel):
    param_ratio: float | None = Field(description="Teacher parameters over student parameters.")
    gap_to_teacher: float | None = Field(description="Student pass@1 minus the teacher's.")
    gain_over_base: float | None = Field(description="Student pass@1 minus the base's.")


class CheckpointPoint(BaseModel):
    """One evaluated training checkpoint: accuracy at its step (evaluate.checkpoints)."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    step: int = Field(description="The optimizer step the checkpoint was saved at.")
    evaluation_id: int = Field(description="Its evaluation: every answer at .../evaluations/{id}/samples.")
    pass_at_1: float
    pass_at_1_ci: list[float] = Field(min_length=2, max_length=2, description="Bootstrap 95% interval.")
    pass_at_k: float
    maj_at_k: float
    samples: int
    loss: float | None = Field(None, description="The training loss logged at that step, where logged.")


class EvalSummary(BaseModel):
    prompts: int
    k: int
    models: list[ModelScore]
    comparison: Comparison
    checkpoints: list[CheckpointPoint] = Field(
        [], description="The training checkpoints evaluated (evaluate.checkpoints), by step."
    )


class EvaluationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    run_id: int | None
    stage_id: int | None
    artifact_id: int | None
    label: str
    role: str
    model: str
    prompt_set_id: int | None
    config_hash: str
    metrics: ModelScore | None

    @field_validator("metrics", mode="before")
    @classmethod
    def _none_until_scored(cls, v):
        return v or None


class EvalSampleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    prompt_id: int
    sample: int
    content: str | None
    reasoning: str | None
    finish_reason: str | None
    completion_tokens: int | None
    answer: str | None
    status: str
    passed: bool | None


class ModelAnswers(BaseModel):
    """One evaluated model's answers to one prompt."""

    evaluation_id: int
    label: str
    role: str
    passed: int = Field(description="Samples judged correct.")
    samples: list[EvalSampleOut] = Field(description="Every sample, in sample order.")


class PromptComparison(BaseModel):
    """One held-out prompt: what each evaluated model of the run answered."""

    prompt_id: int
    text: str
    reference: str | None
    models: list[ModelAnswers] = Field(description="In the order the run's evaluations were made.")
