"""A teacher's `settings`, checked per backend when the teacher is created or changed.

Without this a teacher took any keys: `{"settings": {"base_url": ...}}` (base_url is a top-level
field) was accepted and every run on it failed later in the worker. Each backend has a model here
(extra keys refused), and the fields a backend needs are required up front; errors carry the path.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from backend.core.egress import EgressPolicy, EgressRefused
from backend.core.errors import Invalid
from backend.teachers.vllm_flags import refused_flags


class _Common(BaseModel):
    """Every backend may carry its own prices (backend/prices/service.py reads them) and the request
    limits of synthesis jobs (workers/jobs/prompt_sets.py)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    price_input_per_m: float | None = Field(None, ge=0, description="Dollars per million input tokens.")
    price_output_per_m: float | None = Field(None, ge=0, description="Dollars per million output tokens.")
    gpu_hour: float | None = Field(None, ge=0, description="Dollars per GPU-hour (local teachers).")
    max_retries: int | None = Field(None, ge=0, le=20, description="Synthesis jobs: tries per request.")
    timeout_s: float | None = Field(
        None,
        gt=0,
        le=7200,
        description="Synthesis jobs and the speed probe (at most 120 there): seconds per request.",
    )


class OpenAICompatSettings(_Common):
    """openai_compat: the endpoint is the teacher's base_url and api_key fields; nothing more."""


class VLLMSettings(_Common):
    """vllm: flags of the server the worker starts (workers/teachers/vllm_server.py)."""

    tensor_parallel_size: int | None = Field(None, ge=1, le=64, description="GPUs per server.")
    max_model_len: int | None = Field(None, ge=1, le=10_000_000, description="Context length.")
    gpu_memory_utilization: float | None = Field(None, gt=0, le=1, description="Share of GPU memory.")
    enable_prefix_caching: bool | None = Field(None, description="vLLM's automatic prefix caching.")
    reasoning_parser: str | None = Field(None, min_length=1, max_length=100, description="e.g. deepseek_r1.")
    dtype: str | None = Field(None, min_length=1, max_length=32, description="auto, bfloat16, float32...")
    enforce_eager: bool | None = Field(None, description="No CUDA graphs.")
    served_model_name: str | None = Field(None, min_length=1, max_length=300, description="Name in requests.")
    extra_args: list[str] | None = Field(
        None,
        max_length=64,
        description="More vLLM flags with their values: the tuning flags of backend/teachers/vllm_flags.py, "
        "plus those an administrator allows (DISTILLERY_VLLM_EXTRA_ARGS_ALLOWED).",
    )

    @field_validator("extra_args")
    @classmethod
    def _allowed_flags(cls, v: list[str] | None) -> list[str] | None:
        # here, not in check_teacher, so an evaluation's vllm model settings are held to it as well
        refused = refused_flags(v or [])
        if refused:
            raise PydanticCustomError(
                "flag_not_allowed",
                "{problems}",
                {"problems": "; ".join(f"[{i}] {flag}: {why}" for i, flag, why in refused)},
            )
        return v


class TransformersLocalSettings(_Common):
    """transformers_local: batched generate() in the worker."""

    device: str | None = Field(None, min_length=1, max_length=32, description="auto, cpu, cuda, cuda:1...")
    batch_size: int | None = Field(None, ge=1, le=4096, description="Prompts per generate() call.")
    dtype: str | None = Field(None, min_length=1, max_length=32, description="auto, bfloat16, float32...")


SETTINGS: dict[str, type[BaseModel]] = {
    "openai_compat": OpenAICompatSettings,
    "vllm": VLLMSettings,
    "transformers_local": TransformersLocalSettings,
}


def check_teacher(backend: str, base_url: str | None, settings: dict[str, Any] | None) -> dict[str, Any]:
    """The settings as stored (keys left unset dropped), or 422 naming each bad field."""
    fields: list[dict[str, str]] = []
    out: dict[str, Any] = {}
    try:
        out = SETTINGS[backend].model_validate(settings or {}).model_dump(exclude_none=True)
    except ValidationError as exc:
        for e in exc.errors():
            loc = ".".join(str(p) for p in e["loc"])
            message = e["msg"]
            if e["type"] == "extra_forbidden":
                known = ", ".join(SETTINGS[backend].model_fields)
                message = f"not a setting of a {backend} teacher (its settings: {known})"
                if loc == "base_url":
                    message += "; base_url is a field of the teacher itself, beside settings"
            fields.append({"path": f"body.settings.{loc}", "message": message, "type": e["type"]})
    if base_url:
        # the worker checks again at every connection (DNS may change); this catches literal IPs and
        # names that resolve to refused addresses now, so the owner hears at once, naming the field
        try:
            EgressPolicy.current().check_host_now(base_url)
        except EgressRefused as exc:
            fields.append({"path": "body.base_url", "message": str(exc), "type": "egress_refused"})
    if backend == "openai_compat" and not base_url:
        fields.append(
            {"path": "body.base_url", "message": "an openai_compat teacher needs base_url", "type": "missing"}
        )
    if fields:
        summary = "; ".join(f"{f['path']}: {f['message']}" for f in fields[:5])
        raise Invalid(f"invalid teacher: {summary}", fields=fields)
    return out
