from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator


class TeacherBackend(StrEnum):
    openai_compat = "openai_compat"
    vllm = "vllm"
    transformers_local = "transformers_local"


LOCAL_BACKENDS = frozenset({TeacherBackend.vllm, TeacherBackend.transformers_local})


def runs_locally(backend: str, base_url: str | None) -> bool:
    """vllm and transformers_local without an endpoint generate on the worker's own accelerator
    (gpu queue, priced per GPU-hour); everything else is an endpoint (cpu queue, priced per token)."""
    return backend in LOCAL_BACKENDS and not base_url


class Licence(StrEnum):
    open_weights = "open_weights"
    api_no_compete = "api_no_compete"  # e.g. OpenAI's and Anthropic's terms
    other = "other"


def _check_url(v: str | None) -> str | None:
    if v is not None and not v.startswith(("http://", "https://")):
        raise ValueError("base_url must start with http:// or https://")
    if v is not None and "#" in v:
        raise ValueError("base_url must not have a fragment ('#'): it would replace the API path")
    if v is not None and "@" in v.split("://", 1)[1].split("/", 1)[0]:
        raise ValueError("base_url must not carry credentials before the host ('user@'); use api_key")
    return v


class TeacherCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    backend: TeacherBackend
    model: str = Field(
        min_length=1,
        max_length=300,
        examples=["Qwen/Qwen2.5-7B-Instruct"],
        description="An endpoint's model name; for a model the worker loads (vllm or transformers_local "
        "without base_url): a hub id, artifact:<id> (a model this project trained) or a local path under "
        "DISTILLERY_MODEL_ROOTS.",
    )
    base_url: str | None = Field(None, max_length=500, examples=["https://api.together.xyz/v1"])
    api_key: SecretStr | None = Field(None, description="Write-only: stored encrypted, never returned.")
    licence: Licence = Licence.open_weights
    settings: dict[str, Any] = Field(default_factory=dict)

    _url = field_validator("base_url")(_check_url)


class TeacherUpdate(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    model: str | None = Field(None, min_length=1, max_length=300)
    base_url: str | None = Field(None, max_length=500)
    api_key: SecretStr | None = Field(None, description="Write-only; send an empty string to clear it.")
    licence: Licence | None = None
    settings: dict[str, Any] | None = None

    _url = field_validator("base_url")(_check_url)


class TeacherProbe(BaseModel):
    """What the last speed probe measured: a few short real requests sent the way a rollout sends them
    (POST .../teachers/{id}/probe). The rollout estimate uses it before the teacher's first run."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    tokens_per_s: float | None = Field(
        None, description="Output tokens per second of one request (sum of tokens / sum of latencies)."
    )
    latency_ms: float | None = Field(None, description="Mean latency of one request, in milliseconds.")
    startup_s: float | None = Field(
        None, description="Seconds the worker took to start vLLM (a vllm teacher without base_url only)."
    )
    completion_tokens: int | None = Field(None, description="Output tokens of the requests that succeeded.")
    requests: int = Field(0, description="Requests sent, all at once.")
    succeeded: int = Field(0, description="Requests that came back with an answer.")
    max_tokens: int = 0
    context_length: int | None = Field(
        None,
        description="The model's context length as the server reports it in /v1/models (vLLM's "
        "max_model_len); what an auto rollout.max_tokens uses. None where the server does not say.",
    )
    measured_at: datetime
    job_id: int | None = None
    error: str | None = Field(None, description="Why the probe failed, with any key scrubbed out.")


class TeacherOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    project_id: int
    name: str
    backend: TeacherBackend
    model: str
    base_url: str | None
    has_api_key: bool
    licence: Licence
    settings: dict[str, Any]
    probe: TeacherProbe | None = Field(None, description="The last speed probe, if one ran.")
    created_at: datetime
    updated_at: datetime
