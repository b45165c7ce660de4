"""The filter stage's contract: which verifiers decide, and what it reports."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from backend.verifiers.registry import VerifierCombo

# Per-prompt pass-rate buckets: never solved, solved sometimes (four quarters), always solved.
PASS_RATE_BUCKETS = ("0", "0-0.25", "0.25-0.5", "0.5-0.75", "0.75-1", "1")


def pass_rate_bucket(accepted: int, total: int) -> str:
    if total == 0 or accepted == 0:
        return "0"
    if accepted == total:
        return "1"
    rate = accepted / total
    return PASS_RATE_BUCKETS[1 + min(int(rate * 4), 3)]


class FilterSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verifiers: VerifierCombo = Field(
        default_factory=lambda: VerifierCombo(verifiers=[{"name": "math"}]),
        description="The verifiers every attempt goes through, combined with all/any.",
    )
    chunk_size: int = Field(256, ge=1, le=100_000, description="Prompts per Celery task.")
    batch: int = Field(512, ge=1, le=20_000, description="Attempts verified and written per batch.")


class VerdictCounts(BaseModel):
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    passed: int = 0
    wrong: int = 0
    unparseable: int = 0
    timeout: int = 0
    error: int = 0
    reference_unparseable: int = 0


class FilterSummary(BaseModel):
    """Live while the stage runs, final once it is done."""

    verified: int = Field(description="Attempts with a final verdict.")
    accepted: int
    rejected: int = Field(description="A verifier said wrong or unparseable.")
    undecided: int = Field(description="No verifier could decide: timeout, error, unparseable reference.")
    acceptance_rate: float = Field(description="accepted / verified.")
    by_verifier: dict[str, VerdictCounts] = Field(
        description="Verdicts by status for each verifier (and for the combination, named all or any)."
    )
    prompts: int = Field(description="Prompts with at least one attempt, over finished chunks.")
    prompts_solved: int = Field(description="Prompts with at least one accepted attempt.")
    pass_rate_histogram: dict[str, int] = Field(description="Prompts by share of accepted attempts.")
    cost_usd: float = Field(description="The rollout's teacher cost.")
    cost_per_accepted_usd: float | None = Field(
        description="The rollout's cost per accepted attempt when the filter ran, before any judge: the "
        "run's figure, the judge's calls included, is the run's cost_per_accepted_usd (backend/runs/cost.py)."
    )
    gpu_seconds_per_accepted: float | None
    verified_per_s: float
    elapsed_s: float
    chunks: dict[str, int] = Field(description="Chunks by status.")
