"""What the serve routes take and answer."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from backend.core.ids import Id

# A served name travels in every request's "model" field and names the teacher row: kept to what vLLM's
# --served-model-name and --lora-modules (name=path) both take unquoted.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"


class ServedStatus(StrEnum):
    queued = "queued"  # waiting for a gpu worker
    starting = "starting"  # a worker is loading the model
    running = "running"  # answering at base_url; its teacher row exists
    stopping = "stopping"  # stop asked; the worker stops the server at its next beat
    stopped = "stopped"  # stopped on request, or its worker was lost (error says so)
    failed = "failed"  # the server could not start or died while serving (error says why)


class ServeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(
        None,
        pattern=NAME_PATTERN,
        description="The served model name (what requests send as `model`) and the name of the teacher "
        "row it registers; default student-<model id>.",
    )
    adapters: list[Id] = Field(
        default_factory=list,
        max_length=8,
        description="More LoRA adapters (model ids of this project) served on the same base, each as "
        "<name>-<model id> (vLLM --enable-lora): the model and each of them must be a LoRA adapter of "
        "the same base model.",
    )
    settings: dict[str, Any] = Field(
        default_factory=dict,
        description="The vLLM server's settings, as a vllm teacher takes them (max_model_len, dtype, "
        "gpu_memory_utilization, enforce_eager, reasoning_parser, extra_args...).",
    )


class ServedAdapter(BaseModel):
    name: str
    artifact_id: int | None
    teacher_id: int | None = None


class ServedOut(BaseModel):
    """A served model: poll until running (base_url set, teacher_id registered) or ended."""

    id: int
    project_id: int
    artifact_id: int | None
    name: str
    status: ServedStatus
    base_url: str | None
    teacher_id: int | None
    adapters: list[ServedAdapter]
    settings: dict[str, Any]
    pid: int | None
    host: str | None
    job_id: int | None
    error: dict[str, Any] | None
    created_at: datetime
    started_at: datetime | None
    stopped_at: datetime | None
    heartbeat_at: datetime | None
