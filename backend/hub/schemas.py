"""What the Hub routes take and return. The token is write-only: HubSettingsOut says only whether
there is one."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from backend.runs.models import Status

# The Hub's rule for a repository id: a namespace and a name, each of letters, digits, '-', '_' and
# '.', starting with a letter or digit, at most 96 characters; no '--' or '..', no '.git' at the end.
REPO_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$"


class HubSettingsUpdate(BaseModel):
    endpoint: str | None = Field(
        None,
        max_length=500,
        description="The Hub's URL (default https://huggingface.co); a mirror or a private Hub.",
    )
    token: SecretStr | None = Field(
        None,
        max_length=2000,
        description="Write-only: stored encrypted, never returned. An empty string clears it.",
    )

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, v: str | None) -> str | None:
        if v is None:
            return v
        v = v.strip().rstrip("/")
        if not v.startswith(("http://", "https://")):
            raise ValueError("the Hub's URL must start with http:// or https://")
        return v


class HubSettingsOut(BaseModel):
    endpoint: str
    has_token: bool = Field(description="Whether a token is stored; the token itself never comes back.")
    updated_at: datetime | None = None


class PushRequest(BaseModel):
    repo_id: str = Field(pattern=REPO_ID, max_length=200, description="namespace/name on the Hub.")
    private: bool = Field(True, description="Create the repository private (an existing one keeps its own).")
    acknowledge_terms: bool = Field(
        False,
        description="Needed where the teacher's terms restrict training competing models (403 otherwise).",
    )

    @field_validator("repo_id")
    @classmethod
    def _repo_id(cls, v: str) -> str:
        if "--" in v or ".." in v or v.endswith(".git"):
            raise ValueError("a Hub repository id has no '--' or '..' and does not end with '.git'")
        return v


class HubPushOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: Literal["snapshot", "model"]
    object_id: int
    repo_id: str
    private: bool
    endpoint: str
    job_id: int | None
    status: Status | None = Field(None, description="The push job's status.")
    error: dict | None = Field(None, description="The push job's error, where it failed.")
    url: str | None = Field(None, description="The repository's URL once a push succeeded.")
    commit: str | None
    created_at: datetime
    pushed_at: datetime | None
