from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.reviews.schemas import ReviewLoad
from backend.teachers.routing import MAX_ROUTES, ROUTES_HELP, TeacherRoute


class SmokeSettings(BaseModel):
    """A smoke run before the fleet: the rollout asks for a seeded sample of prompts first and the filter's
    verifiers judge it; at or above the floor the rest follows, below it the stage waits for a decision."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    prompts: int = Field(ge=1, le=10_000, description="Prompts in the sample (all n attempts of each).")
    min_accept: float = Field(
        ge=0,
        le=1,
        description="The acceptance floor: the share of the sample's attempts the filter must accept for the "
        "rollout to go on by itself; below it the stage stops for a decision (continue or cancel).",
    )


class RolloutSettings(BaseModel):
    """How the teacher is sampled, and how the work is cut up. Part of a run's frozen recipe."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    n: int = Field(4, ge=1, le=64, description="Attempts per prompt.")
    temperature: float = Field(0.7, ge=0, le=2)
    top_p: float = Field(1.0, gt=0, le=1)
    max_tokens: int | None = Field(
        None,
        ge=1,
        le=262_144,
        description="Cap on each attempt's tokens. Unset (auto): the teacher's context length where it is "
        "known (a vllm teacher's max_model_len setting, or what its server's /v1/models reported to the "
        "speed probe), else 16384. Reasoning teachers (R1-style) write 6k-32k tokens per attempt; a trace "
        "cut at the cap is never trained on.",
    )
    seed: int | None = Field(
        None, ge=-(2**63), le=2**63 - 1, description="Per-request seed, where the teacher supports one."
    )
    stop: list[str] | None = Field(None, max_length=8)
    top_k: int | None = Field(
        None, ge=-1, le=1_000_000, description="vLLM / SGLang only (sent as extra body)."
    )
    min_p: float | None = Field(None, ge=0, le=1, description="vLLM / SGLang only (sent as extra body).")
    system_prompt: str | None = Field(None, max_length=20_000, description="For prompts that have none.")
    split: Literal["train", "eval", "all"] = Field(
        "train", description="Which split of the prompt set to roll out; eval prompts stay held out."
    )
    chunk_size: int = Field(256, ge=1, le=100_000, description="Prompts per Celery task.")
    concurrency: int = Field(64, ge=1, le=4096, description="Requests in flight per worker.")
    max_retries: int = Field(5, ge=0, le=20)
    timeout_s: float = Field(600, gt=0, le=7200, description="Per request.")
    max_failed_share: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Fail the stage when more than this share of its attempts failed (the cause named); "
        "unset: only when every attempt failed. A stage below it succeeds and says how many failed.",
    )
    use_cache: bool = Field(True, description="Re-use identical earlier generations instead of paying twice.")
    mode: Literal["online", "batch"] = Field(
        "online",
        description="online: requests as they go. batch: each chunk's requests as one provider batch in the "
        "OpenAI shape (upload, create, poll, read the output and error files; 24-hour window), for an "
        "openai_compat teacher whose provider serves /v1/batches (OpenAI, Together...): about half the "
        "price, results within the window. Submitted exactly once across worker restarts.",
    )
    batch_price_share: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Batch mode: the batch price as a share of the teacher's online price (OpenAI and "
        "Together bill batches at half); the estimate and the stage's cost use it.",
    )
    stop_when_verified: int | None = Field(
        None,
        ge=1,
        le=64,
        description="Adaptive sampling: verify attempts as they arrive (with the recipe's filter verifiers) "
        "and stop sampling a prompt once this many passed. Needs the filter stage.",
    )
    stop_after_failures: int | None = Field(
        None, ge=1, le=64, description="Adaptive sampling: also stop a prompt once this many attempts failed."
    )
    reasoning_budget: int | None = Field(
        None,
        ge=1,
        le=262_144,
        description="Thinking-token budget per attempt. A vllm teacher with a reasoning_parser setting gets "
        "vLLM's thinking_token_budget (the server ends the think block there); any other teacher gets "
        "max_tokens = budget + answer_tokens instead, and an attempt cut there is recorded truncated. "
        "Unset: no budget.",
    )
    answer_tokens: int = Field(
        1024,
        ge=1,
        le=65_536,
        description="With reasoning_budget on a teacher without vLLM's budget: the tokens left for the "
        "answer after the budget (max_tokens = reasoning_budget + answer_tokens).",
    )
    smoke: SmokeSettings | None = Field(
        None,
        description="A smoke run first: this many prompts, drawn with the rollout's seed (0 when unset), are "
        "rolled out and judged by the filter's verifiers before the teacher is asked for the rest; below "
        "min_accept the run stops for a maintainer's decision. Unset: off. Needs the filter stage.",
    )
    logprobs: int | None = Field(
        None,
        ge=1,
        le=20,
        description="Capture the teacher's top-K log-probabilities per generated token (K here, 1..20: "
        "vLLM's default max_logprobs), stored as Parquet beside the run and gathered into the snapshot "
        "(teacher_logprobs.parquet) for logit distillation. vllm and transformers_local teachers give "
        "them; an API teacher where its provider returns token ids, else the summary says none came. "
        "Unset: off. Set, the response cache is written but not read (a cached answer has no logprobs).",
    )
    teachers: list[TeacherRoute] = Field(default_factory=list, max_length=MAX_ROUTES, description=ROUTES_HELP)


def check_rollout(recipe) -> list[str]:
    """Cross-stage rules of the rollout (the registry's recipe check): adaptive sampling verifies with
    the filter stage's verifiers, so that stage must be in the recipe; and it decides as attempts
    arrive, which a batch (all its answers at once, hours later) cannot serve. The same for smoke."""
    r = recipe.rollout
    adaptive = r.stop_when_verified is not None or r.stop_after_failures is not None
    if adaptive and r.mode == "batch":
        return ["rollout.mode: adaptive sampling stops a prompt as its attempts arrive; a batch answers "
                "every request at once: use mode online, or unset stop_when_verified"]  # fmt: skip
    if adaptive and "filter" not in recipe.stages:
        return ["rollout.stop_when_verified: adaptive sampling verifies with the filter stage's verifiers; "
                "add 'filter' to stages"]  # fmt: skip
    return _check_smoke(recipe, adaptive) or _check_routes(recipe)


def _check_routes(recipe) -> list[str]:
    """Routes send each prompt to its own teacher's client; a provider batch is one teacher's, and the
    logprob cache is tied to one teacher's tokenizer."""
    r = recipe.rollout
    if not r.teachers:
        return []
    if r.mode == "batch":
        return ["rollout.teachers: a provider batch goes to one teacher; use mode online, or no routes"]
    if r.logprobs is not None:
        return ["rollout.teachers: the logprob cache is tied to one teacher's tokenizer; unset logprobs, or "
                "route no prompt elsewhere"]  # fmt: skip
    return []


def _check_smoke(recipe, adaptive: bool) -> list[str]:
    """The smoke sample is judged with the filter stage's verifiers as soon as it lands: online only,
    and not with adaptive sampling (whose prompts stop early: the sample's counts would be its own)."""
    r = recipe.rollout
    if r.smoke is None:
        return []
    if "filter" not in recipe.stages:
        return ["rollout.smoke: the smoke sample is judged by the filter stage's verifiers; add 'filter' to "
                "stages"]  # fmt: skip
    if r.mode == "batch":
        return ["rollout.smoke: a smoke sample is judged as soon as it lands; a batch answers hours later: "
                "use mode online, or unset smoke"]  # fmt: skip
    if adaptive:
        return ["rollout.smoke: not with adaptive sampling (stop_when_verified, stop_after_failures): unset "
                "one of them"]  # fmt: skip
    return []


class SmokeReason(BaseModel):
    verifier: str
    status: str
    reason: str | None = Field(description="What the verifier said, shortened.")


class SmokeVerdict(BaseModel):
    """One attempt of the smoke sample, as its verifiers judged it."""

    generation_id: int
    prompt_id: int
    attempt: int
    accepted: bool | None
    excerpt: str = Field(description="The attempt's answer, its first 300 characters.")
    reasons: list[SmokeReason]


class SmokeResult(BaseModel):
    """The smoke sample's result, stored on the rollout stage's metrics once the sample is judged."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    prompts: int
    attempts: int = Field(
        description="The sample's attempts; those the teacher failed are not in acceptance's denominator."
    )
    accepted: int
    acceptance: float = Field(description="accepted / answered attempts (a failed request is no verdict).")
    min_accept: float = Field(description="The floor the recipe set.")
    decision: Literal["pending", "passed", "continued", "cancelled"] = Field(
        description="passed: at or above the floor, the rollout went on by itself; pending: below it, "
        "waiting for a maintainer (POST .../runs/{id}/smoke); continued or cancelled: what they decided."
    )
    verdicts: list[SmokeVerdict] = Field(description="A few of the sample's attempts, rejected ones first.")


class RolloutSummary(BaseModel):
    """The rollout stage's metrics, live while it runs and final once it is done."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    generations: int = Field(description="Attempts stored, succeeded or failed.")
    succeeded: int
    failed: int
    truncated: int = Field(description="Attempts cut at max_tokens.")
    from_cache: int = Field(description="Attempts answered by the response cache (not paid again).")
    failures: dict[str, int] = Field(description="Failed attempts by cause.")
    prompt_tokens: int
    completion_tokens: int
    tokens_per_s: float
    completions_per_s: float
    cost_usd: float
    gpu_seconds: float
    elapsed_s: float
    chunks: dict[str, int] = Field(description="Chunks by status.")
    attempts_skipped: int = Field(
        0, description="Adaptive sampling: attempts never asked for, of n per prompt."
    )
    cost_saved_usd: float = Field(
        0.0, description="Adaptive sampling: the skipped attempts at this rollout's mean cost per attempt."
    )
    partly_failed: str | None = Field(
        None, description="Set when some attempts failed: how many of how many, and their main causes."
    )
    smoke: SmokeResult | None = Field(None, description="The smoke sample (rollout.smoke), once judged.")
    logprobs: int = Field(0, description="rollout.logprobs: attempts whose teacher logprobs were stored.")
    logprobs_missing: int = Field(
        0, description="rollout.logprobs: succeeded attempts that came back without logprobs."
    )
    logprobs_note: str | None = Field(
        None, description="Set when logprobs were asked for and some or all are missing, saying why."
    )
    teachers: dict[str, int] = Field(
        default_factory=dict,
        description="Succeeded attempts per teacher id (rollout.teachers routes prompts to teachers).",
    )


class TeacherEstimate(BaseModel):
    """One routed teacher's share of a rollout estimate (rollout.teachers)."""

    teacher_id: int
    name: str
    prompts: int
    attempts: int
    output_tokens: int
    cost_usd: float | None = Field(description="None: no price known for this teacher.")
    seconds: float


class RolloutEstimate(BaseModel):
    prompts: int
    attempts: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    seconds: float = Field(description="Wall-clock seconds on one worker, start-up included.")
    seconds_source: Literal["teacher", "probe", "backend", "default"] = Field(
        description="Where the time per attempt comes from, best first: `teacher` (this teacher's earlier "
        "runs), `probe` (its last speed probe, per output token), `backend` (other teachers of its "
        "backend in this project, per output token), or `default` (the backend's assumed speed: not "
        "measured; run the probe)."
    )
    max_tokens: int = Field(description="The cap on each attempt's tokens this estimate used.")
    max_tokens_source: str = Field(
        description="Where max_tokens comes from: `set in the rollout`, `auto: teacher context length N` "
        "or `auto: default 16384`."
    )
    startup_s: float = Field(
        description="Start-up counted once: vLLM's when the worker starts the server (the probe's "
        "measured start-up where there is one, else an assumed constant)."
    )
    price: dict[str, float | str] | None
    basis: list[str] = Field(description="How each figure was estimated.")
    review: ReviewLoad | None = Field(
        None, description="The review queue the recipe would fill (recipes with a review stage)."
    )
    teachers: list[TeacherEstimate] | None = Field(
        None, description="rollout.teachers: each routed teacher's share (the default route first)."
    )


class SmokeDecision(BaseModel):
    """A maintainer's decision on a smoke sample below its floor."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["continue", "cancel"] = Field(
        description="continue: the rollout asks the teacher for the remaining prompts (the sample's attempts "
        "are kept, never asked again); cancel: the run is cancelled."
    )
