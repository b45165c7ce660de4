"""The train stage's contract: the recipe's `train` key (TRL / open-r1 style fields, each with its help
and range) and what the stage reports. Kept free of torch and TRL so the api validates recipes fast.

One concern, the train stage's contract, kept in one module past 450 lines: the settings of each method
(one class per method, a union on `method`) and the summary the stage writes are read together by the
API, the wizard's schemas and the model card; the next split, when it grows, is settings / summary."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Union, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_core.core_schema import ErrorType

from backend.teachers.routing import MAX_ROUTES, ROUTES_HELP, TeacherRoute
from backend.training.preflight import CHECK_KINDS, WAIVABLE

ERROR_TYPES = frozenset(get_args(ErrorType))
Waivable = Literal[WAIVABLE]  # type: ignore[valid-type]  # built from the registry, so only at run time; the registry's waivable checks (backend/training/preflight.py)
METHOD_HELP = (
    "sft: the accepted traces; dpo: the snapshot's chosen/rejected pairs; grpo: the filter's verifiers as "
    "rewards; distill: on-policy distillation from the run's teacher (local, or served by vLLM); kd: the "
    "accepted traces with the teacher's top-K logprobs cached in the snapshot (cross-entropy mixed with a "
    "KL to the teacher)."
)

SERIES_MAX = 500  # points kept of each training curve; older points are thinned, never the newest


class LoraSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    r: int = Field(16, ge=1, le=1024, description="LoRA rank.")
    alpha: int = Field(32, ge=1, le=4096, description="LoRA alpha (the update is scaled by alpha / r).")
    dropout: float = Field(0.05, ge=0, lt=1, description="Dropout on the LoRA branch.")
    target_modules: list[str] | Literal["all-linear"] = Field(
        "all-linear",
        description="Module names to adapt (q_proj, v_proj...), or 'all-linear'. Names the student lacks "
        "are refused before training.",
    )
    merge: bool = Field(False, description="Merge the adapter into the base weights when saving.")
    quantize_4bit: bool = Field(False, description="QLoRA: load the base in 4 bits (bitsandbytes, GPU only).")


class TrainBase(BaseModel):
    """What every method shares: the student, its data, the optimiser and its schedule, checkpoints, the
    pre-flight checks and the GPUs. Each method adds its own fields (TRL's config + trainer pairs), and a
    field of another method is refused rather than silently ignored."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    # each method's model narrows this to its own literal, the union's discriminator
    method: Literal["sft", "dpo", "grpo", "distill", "kd"]
    student: str = Field(
        "Qwen/Qwen2.5-0.5B-Instruct",
        min_length=1,
        max_length=500,
        description="The student: a Hugging Face hub id, artifact:<id> (a model this project trained), or a "
        "local path under the folders an administrator allows (DISTILLERY_MODEL_ROOTS).",
    )
    snapshot_id: int | None = Field(
        None,
        ge=1,
        le=2**31 - 1,
        description="Train this snapshot of the project instead of the run's own snapshot stage.",
    )
    chat_template: str | None = Field(
        None,
        max_length=100_000,
        description="A chat template to train with instead of the student's own. It must render what the "
        "student's template renders (checked on the snapshot's first conversations); a student without a "
        "template takes it. Usually left empty: the student's original template is used and saved.",
    )
    lora: LoraSettings | None = Field(None, description="None: full fine-tune; else LoRA (peft).")
    learning_rate: float = Field(2e-5, gt=0, le=1e-2, description="Peak learning rate.")
    lr_scheduler_type: Literal["linear", "cosine", "constant", "constant_with_warmup"] = Field(
        "cosine", description="Learning-rate schedule."
    )
    warmup_ratio: float = Field(0.03, ge=0, le=0.5, description="Share of the steps spent warming up.")
    weight_decay: float = Field(0.0, ge=0, le=1, description="AdamW weight decay.")
    epochs: float = Field(1.0, gt=0, le=100, description="Passes over the data (ignored when max_steps set).")
    max_steps: int | None = Field(None, ge=1, le=10_000_000, description="Stop after this many steps.")
    per_device_batch_size: int = Field(8, ge=1, le=1024, description="Sequences per device per step.")
    gradient_accumulation: int = Field(1, ge=1, le=1024, description="Micro-batches per optimizer step.")
    max_length: int | None = Field(
        None,
        ge=16,
        le=262_144,
        description="Longest sequence in tokens. None: the snapshot's longest example on the student's "
        "tokenizer (never TRL's default 1024, which silently cuts long traces and their EOS).",
    )
    too_long: Literal["exclude", "refuse"] = Field(
        "exclude", description="Examples over max_length: dropped and counted, or the run refuses."
    )
    gradient_checkpointing: bool = Field(False, description="Recompute activations to save memory.")
    use_kernels: bool = Field(True, description="Liger kernels when installed and on a GPU.")
    seed: int = Field(42, ge=0, le=2**32 - 1, description="Seed of data order and initialisation.")
    save_steps: int = Field(
        200,
        ge=1,
        le=1_000_000,
        description="Checkpoint every N steps; a re-queued run resumes from the last.",
    )
    save_total_limit: int = Field(2, ge=1, le=100, description="Checkpoints kept on disk.")
    logging_steps: int = Field(1, ge=1, le=10_000, description="Steps between logged losses.")
    override_checks: list[Waivable] = Field(
        [],
        description="Pre-flight checks to waive, each recorded in the summary: " + ", ".join(WAIVABLE) + ".",
    )
    num_gpus: int | None = Field(
        None, ge=1, le=1024, description="GPUs on the worker to train across; None: all it has."
    )
    distributed: Literal["deepspeed_zero2", "deepspeed_zero3", "fsdp"] = Field(
        "deepspeed_zero2", description="How several GPUs share the work (accelerate config)."
    )

    @field_validator("override_checks", mode="before")
    @classmethod
    def _only_waivable(cls, v: Any) -> Any:
        fixed = [c for c in v if c in CHECK_KINDS and c not in WAIVABLE] if isinstance(v, list) else []
        if fixed:
            raise ValueError(f"{', '.join(fixed)} cannot be waived: {CHECK_KINDS[fixed[0]].help}")
        return v

    @model_validator(mode="after")
    def _lora_rules(self) -> TrainBase:
        if self.lora and self.lora.merge and self.lora.quantize_4bit:
            raise ValueError(
                "lora.merge with quantize_4bit would merge into 4-bit weights; merge a 16-bit base"
            )
        return self


class SFTSettings(TrainBase):
    """Supervised fine-tuning on the snapshot's accepted traces (TRL's SFTConfig + SFTTrainer)."""

    method: Literal["sft"] = Field("sft", description=METHOD_HELP)
    packing: bool = Field(
        False,
        description="Pack sequences into max_length rows (padding-free; needs flash or sdpa attention).",
    )


class DPOSettings(TrainBase):
    """Preference optimisation on the snapshot's chosen/rejected pairs (TRL's DPOConfig + DPOTrainer)."""

    method: Literal["dpo"] = Field("dpo", description=METHOD_HELP)
    beta: float = Field(
        0.1, ge=0, le=10, description="KL strength: how far the student may move from the reference."
    )


class GRPOSettings(TrainBase):
    """Online RL on the snapshot's prompts, rewarded by the filter's verifiers (TRL's GRPOConfig +
    GRPOTrainer)."""

    method: Literal["grpo"] = Field("grpo", description=METHOD_HELP)
    num_generations: int = Field(4, ge=2, le=256, description="Completions sampled per prompt.")
    max_completion_length: int = Field(
        256, ge=1, le=131_072, description="Longest sampled completion in tokens."
    )
    beta: float = Field(
        0.0, ge=0, le=10, description="KL penalty against the reference model; 0: none (TRL's default)."
    )

    @model_validator(mode="after")
    def _whole_groups(self) -> GRPOSettings:
        if (self.per_device_batch_size * self.gradient_accumulation) % self.num_generations:
            raise ValueError(
                "grpo: per_device_batch_size * gradient_accumulation must be a multiple of num_generations "
                "(each prompt's completions are compared within a batch)"
            )
        return self


class DistillSettings(TrainBase):
    """On-policy distillation from a teacher with the student's tokenizer: a local transformers_local
    teacher (TRL's DistillationConfig + DistillationTrainer, its full distribution), or a teacher served
    by vLLM (a vllm teacher the worker starts, or an endpoint that is a vLLM server), whose top-k
    prompt logprobs score the student's samples (TRL's ServerDistillationTrainer's sparse loss)."""

    method: Literal["distill"] = Field("distill", description=METHOD_HELP)
    beta: float = Field(
        0.1, ge=0, le=1, description="The KL between teacher and student: 0 forward KL, 1 reverse KL."
    )
    max_completion_length: int = Field(
        256, ge=1, le=131_072, description="Longest completion the student samples, in tokens."
    )
    teacher_top_k: int = Field(
        1,
        ge=1,
        le=20,
        description="Served teacher only: the teacher's top-k logprobs per token the loss is computed over "
        "(vLLM's prompt_logprobs; vLLM serves at most 20 by default). Above 1 only with beta 0 (forward "
        "KL); a reverse or mixed KL uses the top-1 support.",
    )
    self_test_tolerance: float = Field(
        0.05,
        ge=0,
        le=10,
        description="Served teacher only: before training, the same short text is scored twice; a largest "
        "difference of a token's logprob above this refuses the teacher (its scores would be noise).",
    )

    teachers: list[TeacherRoute] = Field(
        default_factory=list,
        max_length=MAX_ROUTES,
        description="Several teachers routed by the snapshot's prompts (their metadata): " + ROUTES_HELP + " "
        "Every teacher shares the student's tokenizer, and all are local (transformers_local) or all served.",
    )

    @model_validator(mode="after")
    def _sparse_support(self) -> DistillSettings:
        if self.teacher_top_k > 1 and self.beta > 0:
            raise ValueError(
                "distill: teacher_top_k above 1 needs beta 0 (forward KL); a served teacher's reverse or "
                "mixed KL is computed on the top-1 support (TRL's ServerDistillationTrainer)"
            )
        return self


class KDSettings(TrainBase):
    """Offline knowledge distillation on the snapshot's accepted traces: SFT's data and TRL's SFTTrainer,
    whose loss on the trained tokens mixes the cross-entropy with a KL to the teacher's top-K logprobs
    cached beside the snapshot (teacher_logprobs.parquet; workers/training/kd_loss.py)."""

    method: Literal["kd"] = Field("kd", description=METHOD_HELP)
    alpha: float = Field(
        0.5,
        ge=0,
        le=1,
        description="The mix: loss = (1 - alpha) * cross-entropy + alpha * temperature^2 * KL(teacher || "
        "student); 0 is plain SFT, 1 the teacher's distribution only.",
    )
    temperature: float = Field(
        1.0,
        gt=0,
        le=20,
        description="Softens both distributions before the KL (Hinton's T; the KL is scaled by T^2 so its "
        "gradients keep their size).",
    )
    tail: bool = Field(
        True,
        description="Compare K+1 buckets: the teacher's top-K ids and the rest of the mass as one bucket "
        "(the student's probability outside those ids is penalised too). Off: both renormalised over the "
        "K ids only.",
    )


SETTINGS_OF: dict[str, type[TrainBase]] = {
    "sft": SFTSettings,
    "dpo": DPOSettings,
    "grpo": GRPOSettings,
    "distill": DistillSettings,
    "kd": KDSettings,
}


def _per_method(value: Any, handler: ValidatorFunctionWrapHandler) -> TrainBase:
    """A missing method means sft; errors read as if the settings were one model (train.beta, not
    train.sft.beta), and a field of another method says whose it is."""
    if isinstance(value, dict) and "method" not in value:
        value = {**value, "method": "sft"}
    try:
        return handler(value)
    except ValidationError as exc:
        method = value.get("method") if isinstance(value, dict) else None
        raise ValidationError.from_exception_data(
            exc.title, [_readable(e, method) for e in exc.errors()]
        ) from None


def _readable(error: Any, method: Any) -> InitErrorDetails:
    loc, kind = tuple(error["loc"]), error["type"]
    if loc and loc[0] in SETTINGS_OF:
        loc = loc[1:]  # the union's tag: the path is the recipe's own
    if kind == "union_tag_invalid" or kind == "union_tag_not_found":
        return InitErrorDetails(
            type=PydanticCustomError(
                kind, "method must be one of {methods}", {"methods": ", ".join(SETTINGS_OF)}
            ),
            loc=(*loc, "method"),
            input=method,
        )
    if kind == "extra_forbidden" and len(loc) == 1:
        owners = [m for m, model in SETTINGS_OF.items() if loc[0] in model.model_fields]
        message = (
            f"not a setting of method {method}; only {', '.join(owners)} take{'s' * (len(owners) == 1)} it"
            if owners
            else f"not a train setting (method {method})"
        )
        return InitErrorDetails(
            type=PydanticCustomError("extra_forbidden", message), loc=loc, input=error["input"]
        )
    if kind not in ERROR_TYPES:  # a validator's own error type: kept with its message as it was
        return InitErrorDetails(type=PydanticCustomError(kind, error["msg"]), loc=loc, input=error["input"])
    return InitErrorDetails(type=kind, loc=loc, input=error["input"], ctx=error.get("ctx") or {})


# The recipe's `train` key: one settings model per method, told apart by `method` (sft when absent).
TrainSettings = Annotated[
    Union[SFTSettings, DPOSettings, GRPOSettings, DistillSettings, KDSettings],  # noqa: UP007
    Field(discriminator="method"),
    WrapValidator(_per_method),
]


def check_train(recipe: Any) -> list[str]:
    """Cross-stage rules: the data comes from a snapshot stage before train, or from snapshot_id; GRPO
    needs the filter's verifiers, and on-policy distillation a teacher."""
    train: TrainBase = recipe.settings_of("train")
    problems = []
    stages = recipe.stages
    if train.snapshot_id is None and "snapshot" not in stages[: stages.index("train")]:
        problems.append("train: needs a snapshot stage earlier in stages, or train.snapshot_id")
    if train.method == "grpo" and "filter" not in stages and train.snapshot_id is None:
        problems.append("train.method: grpo rewards with the filter's verifiers; add the filter stage")
    if train.method == "distill" and recipe.teacher_id is None:
        problems.append(
            "train.method: distill needs teacher_id (a teacher with the student's tokenizer: "
            "transformers_local, vllm, or an endpoint that is a vLLM server)"
        )
    return problems


class CheckResult(BaseModel):
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    name: str
    help: str = Field("", description="What the check looks at (backend/training/preflight.py).")
    passed: bool
    overridden: bool = Field(False, description="Failed, but the recipe waived it (override_checks).")
    count: int = Field(0, description="Examples that fail the check.")
    total: int = Field(0, description="Examples checked.")
    examples: list[str] = Field([], description="A few offending examples (ids or rendered text).")
    fix: str | None = Field(None, description="What to change when it fails.")


class TrainPoint(BaseModel):
    step: int
    loss: float | None = None
    learning_rate: float | None = None
    grad_norm: float | None = None
    reward: float | None = Field(None, description="grpo: the mean reward of the step's completions.")
    reward_std: float | None = Field(None, description="grpo: the spread of the step's rewards.")
    zero_reward_groups: float | None = Field(
        None,
        description="grpo: the share of the step's prompts whose every completion scored 0 (no signal).",
    )
    reward_margin: float | None = Field(
        None, description="dpo: the mean margin of the chosen over the rejected implicit reward."
    )
    reward_accuracy: float | None = Field(
        None, description="dpo: the share of pairs whose chosen answer out-scores the rejected one."
    )
    ce: float | None = Field(None, description="kd: the cross-entropy on the trained tokens (per token).")
    kl: float | None = Field(
        None, description="kd: the KL from the teacher's cached top-K to the student (per trained token)."
    )


class TemplateInfo(BaseModel):
    family: str = Field(
        description="The TRL-shipped original the student's template is (qwen3, llama3_2...), else custom."
    )
    source: Literal["student", "recipe"] = Field(
        description="Whose template: the student's own or the recipe's."
    )
    reasoning: str = Field(
        description="Where reasoning goes: template (the template places <think>, Qwen3), prompt-opens (the "
        "prompt ends with <think>, R1-Distill), plain (inline text: families without think tokens)."
    )


class PadInfo(BaseModel):
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    token: str | None = None
    id: int | None = None
    source: str = Field("", description="student, or why another was chosen.")


class KeptCheckpoint(BaseModel):
    step: int = Field(description="The optimizer step it was saved at.")
    path: str = Field(description="Its folder (Hugging Face format: weights or adapter, tokenizer).")


class DistillTeacher(BaseModel):
    """One teacher of a routed on-policy distillation (train.teachers)."""

    teacher_id: int
    name: str
    model: str
    prompts: int = Field(description="The training prompts routed to it.")
    scored: int = Field(0, description="Student samples it scored during training.")


class TrainSummary(BaseModel):
    """Written live while training (step, loss, series) and completed at the end (artifact)."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    method: str = ""
    step: int = Field(0, description="Optimizer steps done (the global step; continues after a resume).")
    max_steps: int | None = None
    epoch: float | None = None
    loss: float | None = Field(None, description="Latest training loss.")
    learning_rate: float | None = None
    grad_norm: float | None = None
    tokens_per_s: float | None = Field(None, description="Trained tokens per second (this process).")
    series: list[TrainPoint] = Field(
        [], description=f"The logged steps (loss and the method's signals), at most {SERIES_MAX} points."
    )
    warnings: list[str] = Field(
        [], description="Signs the training learns nothing, live (grpo: every reward so far is 0)."
    )
    checks: list[CheckResult] = Field(
        [], description="The pre-flight checks, stored before the first step (what was left out and why)."
    )
    overrides: list[str] = Field([], description="Checks failed but waived by the recipe.")
    examples: int | None = Field(None, description="Training examples after exclusions.")
    excluded_too_long: int = 0
    max_length: int | None = Field(None, description="The max_length trained with.")
    resumed_from_step: int | None = Field(None, description="The checkpoint a re-queued run resumed from.")
    optimizer_steps: int | None = Field(
        None,
        description="Steps the optimizer's state has seen: equals step after a resume when it was restored.",
    )
    snapshot_id: int | None = None
    eval_checkpoints: list[KeptCheckpoint] = Field(
        [],
        description="Checkpoints kept for the run's evaluate.checkpoints (weights only, whatever "
        "save_total_limit), by step; written at the end.",
    )
    artifact_id: int | None = Field(None, description="The model artifact registered at the end.")
    path: str | None = Field(None, description="The final model's folder (Hugging Face format).")
    launch: list[str] | None = Field(None, description="The accelerate launch command, on several GPUs.")
    template: TemplateInfo | None = Field(None, description="The chat template trained with (and saved).")
    teachers: list[DistillTeacher] | None = Field(
        None, description="distill with train.teachers: each teacher's prompts and the samples it scored."
    )
    pad: PadInfo | None = Field(None, description="The pad token trained with (and saved).")
    sample: str | None = Field(
        None, description="One training example decoded, its trained tokens (the loss mask) inside ⟦...⟧."
    )


class ModelArtifactOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    project_id: int
    run_id: int | None
    snapshot_id: int | None
    base_model: str
    method: str
    path: str
    metrics: dict[str, Any]
    created_at: datetime
