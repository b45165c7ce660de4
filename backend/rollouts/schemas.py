from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class RolloutSettings(BaseModel):
    """How the teacher is sampled, and how the work is cut up. Part of a run's frozen recipe."""

    model_config = ConfigDict(extra="forbid")

    n: int = Field(4, ge=1, le=64, description="Attempts per prompt.")
    temperature: float = Field(0.7, ge=0, le=2)
    top_p: float = Field(1.0, gt=0, le=1)
    max_tokens: int = Field(1024, ge=1, le=262_144, description="Cap on each attempt's tokens.")
    seed: int | None = Field(None, description="Per-request seed, where the teacher supports one.")
    stop: list[str] | None = Field(None, max_length=8)
    top_k: int | None = Field(None, ge=-1, description="vLLM / SGLang only (sent as extra body).")
    min_p: float | None = Field(None, ge=0, le=1, description="vLLM / SGLang only (sent as extra body).")
    system_prompt: str | None = Field(None, max_length=20_000, description="For prompts that have none.")
    split: Literal["train", "eval", "all"] = Field(
        "train", description="Which split of the prompt set to roll out; eval prompts stay held out."
    )
    chunk_size: int = Field(256, ge=1, le=100_000, description="Prompts per Celery task.")
    concurrency: int = Field(64, ge=1, le=4096, description="Requests in flight per worker.")
    max_retries: int = Field(5, ge=0, le=20)
    timeout_s: float = Field(600, gt=0, le=7200, description="Per request.")
    use_cache: bool = Field(True, description="Re-use identical earlier generations instead of paying twice.")


class RolloutEstimate(BaseModel):
    prompts: int
    attempts: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    seconds: float | None
    price: dict[str, float | str] | None
    basis: list[str] = Field(description="How each figure was estimated.")


class PriceIn(BaseModel):
    provider: str = Field(min_length=1, max_length=64, examples=["openai", "together", "local"])
    model: str = Field(min_length=1, max_length=300, examples=["deepseek-reasoner", "*"])
    input_per_m: float = Field(0, ge=0, description="Dollars per million input tokens.")
    output_per_m: float = Field(0, ge=0, description="Dollars per million output tokens.")
    gpu_hour: float = Field(0, ge=0, description="Dollars per GPU-hour (local teachers).")
    note: str = Field("", max_length=300)


class PriceOut(PriceIn):
    model_config = ConfigDict(from_attributes=True)

    id: int
    updated_at: datetime


class GenerationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    run_id: int
    prompt_id: int
    attempt: int
    status: str
    reasoning: str | None
    content: str | None
    finish_reason: str | None
    truncated: bool
    error: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_ms: int | None
    from_cache: bool
    created_at: datetime
