"""Settings, read from the environment with the DISTILLERY_ prefix (or a .env file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_KEY = "dev-insecure-secret-key-change-me"


class Settings(BaseSettings):
    """Every DISTILLERY_* setting. README.md lists them; keep the two in step."""

    model_config = SettingsConfigDict(env_prefix="DISTILLERY_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = Field(
        "development", description="Outside development a default SECRET_KEY is refused."
    )
    data_dir: Path = Field(Path("var"), description="Embedded database, broker folders and uploads.")
    database_url: str = Field("", description="SQLAlchemy URL; empty means SQLite at DATA_DIR/distillery.db.")
    broker_url: str = Field("", description="Celery broker; empty means kombu's filesystem transport.")
    secret_key: str = Field(
        DEV_SECRET_KEY,
        description="Derives the key that encrypts teacher API keys at rest; keep it secret and stable.",
    )
    session_ttl_hours: int = Field(24 * 7, ge=1, description="Lifetime of a login token.")
    login_free_failures: int = Field(
        5, ge=1, description="Failed logins of one account before each further try must wait (1 s, doubling)."
    )
    login_free_failures_per_address: int = Field(
        20, ge=1, description="Failed logins from one client address before each further try must wait."
    )
    forwarded_allow_ips: str = Field(
        "127.0.0.1",
        description="Addresses (or networks) of the proxies whose X-Forwarded-For names the client, comma "
        "separated; the per-address login limit keys on that client. Any other caller's X-Forwarded-For is "
        "ignored: trusting '*' lets every client choose its own address and dodge the limit.",
    )
    allow_signup: bool = Field(False, description="Let anyone create an account at /api/auth/signup.")
    cors_origins: list[str] = Field(default_factory=list, description="Origins allowed to call the API.")
    frontend_dist: Path = Field(Path("frontend/dist"), description="Built dashboard served at /.")
    max_upload_mb: int = Field(512, ge=1, description="Largest prompt file accepted, in MiB.")
    max_prompt_chars: int = Field(
        1_000_000,
        ge=1,
        description="Longest prompt text an import accepts, in characters; a longer row is rejected "
        "with reason prompt_too_long.",
    )
    parse_process_min_mb: float = Field(
        16,
        ge=0,
        description="On PostgreSQL, prompt files from this size up are read and hashed in a second process "
        "while the import process deduplicates and writes (uses two cores).",
    )
    task_soft_time_limit: int = Field(6 * 3600, ge=1, description="Seconds before a task is asked to stop.")
    progress_interval_s: float = Field(1.0, ge=0, description="Minimum seconds between progress writes.")
    log_level: str = Field("INFO", description="Python logging level.")
    vllm_extra_args_allowed: str = Field(
        "",
        description="vLLM flags, comma separated, that a vllm teacher's extra_args may pass beyond the "
        "built-in list of tuning flags (backend/teachers/vllm_flags.py), e.g. --trust-remote-code: "
        "only for models and files every project maintainer may run on the workers.",
    )
    vllm_python: str = Field(
        "",
        description="Interpreter that has vLLM, for the vllm teacher; empty means .venv-vllm/bin/python "
        "(scripts/setup-vllm.sh) where it exists, else this one.",
    )
    stale_after_s: float = Field(
        120,
        gt=0,
        description="A running stage whose heartbeat is older than this has lost its worker: every "
        "worker's janitor re-queues it (a live task beats every quarter of this, even between progress "
        "writes).",
    )
    max_requeues: int = Field(
        3,
        ge=0,
        description="Times a stage whose worker was lost is re-queued automatically; one more loss fails "
        "the stage and its run with 'worker lost N times'.",
    )
    queued_resend_after_s: float = Field(
        600,
        gt=0,
        description="A stage (or a fan-out stage's chunks) queued this long with no worker taking it gets "
        "its task sent again by the workers' janitor, in case the broker lost the message (a crash, a "
        "flush); a duplicate delivery is dropped at the claim, so a stage merely waiting for a free "
        "worker keeps its place and runs once.",
    )
    upload_orphan_after_h: float = Field(
        24,
        gt=0,
        description="Hours after which a file under DATA_DIR/uploads that no waiting or live import uses "
        "is deleted by the workers' janitor.",
    )

    egress_allow: str = Field(
        "",
        description="Comma list of hostnames and CIDR networks a worker may call although the egress "
        "policy refuses their addresses (loopback, private, link-local...), e.g. `vllm,10.2.0.0/16`.",
    )
    egress_strict: bool | None = Field(
        None,
        description="Refuse teacher, judge and synthesis URLs that reach loopback, private, link-local, "
        "CGNAT, multicast or reserved addresses (unless EGRESS_ALLOW lists them). Unset: on in production, "
        "off in development and test (the demo and the tests serve teachers on 127.0.0.1).",
    )

    model_roots: str | None = Field(
        None,
        description="Comma list of folders under which a teacher, student or evaluated model may be named by "
        "local path (`*`: any folder). Unset: none in production (hub ids and artifact:<id> only), any in "
        "development and test. Another project's training outputs, snapshots and uploads are refused "
        "whatever this says.",
    )

    @field_validator("egress_strict", "model_roots", mode="before")
    @classmethod
    def _empty_is_unset(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v  # `DISTILLERY_EGRESS_STRICT=` in .env

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.environment != "development" and self.secret_key == DEV_SECRET_KEY:
            raise ValueError(
                "DISTILLERY_SECRET_KEY is left at its development default; set a long random value "
                "(python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        if len(self.secret_key) < 16:
            raise ValueError("DISTILLERY_SECRET_KEY must be at least 16 characters")
        return self

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            url = self.database_url
            # Users paste postgres:// or postgresql:// URLs; we drive psycopg 3.
            for prefix in ("postgres://", "postgresql://"):
                if url.startswith(prefix):
                    return "postgresql+psycopg://" + url[len(prefix) :]
            return url
        return f"sqlite:///{(self.data_dir / 'distillery.db').resolve()}"

    @property
    def celery_broker_url(self) -> str:
        return self.broker_url or "filesystem://"

    @property
    def broker_dir(self) -> Path:
        return self.data_dir / "broker"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"


@lru_cache
def get_settings() -> Settings:
    return Settings()
