"""Settings, read from the environment with the DISTILLERY_ prefix (or a .env file)."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_KEY = "dev-insecure-secret-key-change-me"


class Settings(BaseSettings):
    """Every DISTILLERY_* setting. docs/settings.md is generated from the descriptions here
    (`python -m backend.core.settings_doc > docs/settings.md`); a test fails when it is stale."""

    model_config = SettingsConfigDict(env_prefix="DISTILLERY_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = Field(
        "development",
        description="`development`, `test` or `production`; outside development the api refuses to start "
        "with the default SECRET_KEY.",
    )
    data_dir: Path = Field(Path("var"), description="Embedded database, broker folders and uploads.")
    database_url: str = Field(
        "",
        description="SQLAlchemy URL (`postgresql://user:pw@host/db`); empty means SQLite at "
        "`DATA_DIR/distillery.db`.",
    )
    broker_url: str = Field(
        "",
        description="Celery broker (`redis://host:6379/0`); empty means kombu's filesystem transport under "
        "`DATA_DIR/broker`.",
    )
    secret_key: str = Field(
        DEV_SECRET_KEY,
        description="Derives the key that encrypts teacher API keys at rest; keep it secret and stable "
        "(16 characters at least).",
    )
    session_ttl_hours: int = Field(24 * 7, ge=1, description="Lifetime of a login token.")
    reset_token_ttl_hours: int = Field(
        72,
        ge=1,
        description="Lifetime of a one-time password-reset token an administrator issues (also the link "
        "of an account invited without a password).",
    )
    login_free_failures: int = Field(
        5,
        ge=1,
        description="Failed logins of one account before each further try must wait (1 s, doubling up to "
        "15 min); a try that comes sooner is 429 with `Retry-After`.",
    )
    login_free_failures_per_address: int = Field(
        20,
        ge=1,
        description="The same per client address, whatever accounts it tries.",
    )
    forwarded_allow_ips: str = Field(
        "127.0.0.1",
        description="Proxies (addresses or networks, comma separated) whose `X-Forwarded-For` names the "
        "client for the per-address login limit; anyone else's is ignored. docker-compose.yml sets it to "
        "its nginx's fixed address. Never `*` where clients can reach the api directly: each could choose "
        "its own address and dodge the limit.",
    )
    allow_signup: bool = Field(False, description="Let anyone create an account at `/api/auth/signup`.")
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed to call the API (JSON list)."
    )
    frontend_dist: Path = Field(Path("frontend/dist"), description="Built dashboard served at `/`.")
    max_upload_mb: int = Field(
        512, ge=1, description="Largest prompt file accepted, in MiB (larger: 413, nothing stored)."
    )
    max_prompt_chars: int = Field(
        1_000_000,
        ge=1,
        description="Longest prompt text an import accepts, in characters; a longer row is rejected "
        "(reason `prompt_too_long`). Word hashing is linear in the text, so one huge token (a base64 blob) "
        "costs what the same bytes as words do.",
    )
    parse_process_min_mb: float = Field(
        16,
        ge=0,
        description="On PostgreSQL, prompt files from this size up are read, checked and hashed in a second "
        "process while the import deduplicates and writes, so an import uses two cores.",
    )
    task_soft_time_limit: int = Field(6 * 3600, ge=1, description="Seconds before a task is asked to stop.")
    progress_interval_s: float = Field(
        1.0, ge=0, description="Minimum seconds between progress writes of a stage."
    )
    log_level: str = Field(
        "INFO", description="Python logging level. Secrets are redacted from every log line."
    )
    vllm_extra_args_allowed: str = Field(
        "",
        description="vLLM flags (comma separated) a `vllm` teacher's `extra_args` may pass beyond the "
        "built-in tuning flags (`--max-num-seqs`, `--max-num-batched-tokens`, `--seed`, `--swap-space`, "
        "`--kv-cache-dtype`, `--quantization`, `--enable-chunked-prefill` and the others in "
        "`backend/teachers/vllm_flags.py`). Any other flag is refused with a 422 naming it. Flags that run "
        "code or read files or URLs outside the model (`--trust-remote-code`, `--chat-template`, "
        "`--tokenizer`, `--load-format`, `--download-dir`...) belong here only where every project "
        "maintainer may run them on the workers.",
    )
    vllm_python: str = Field(
        "",
        description="Interpreter that has vLLM, for the `vllm` teacher; empty means `.venv-vllm/bin/python` "
        "(`make vllm`, scripts/setup-vllm.sh) where it exists, else this one.",
    )
    vllm_cpu_memory_share: float = Field(
        0.3,
        gt=0,
        le=1,
        description="On a host without a GPU, the share of the host's RAM a worker-started vLLM (the CPU "
        "build reads `--gpu-memory-utilization` as that) takes for weights and KV cache, where the teacher "
        "sets no `gpu_memory_utilization`: vLLM's own default, 0.9, leaves nothing for the worker, the API "
        "and the database beside it. On a GPU host the default stays 0.9 of the GPU's memory.",
    )
    serve_host: str = Field(
        "127.0.0.1",
        description="The address a served student's vLLM server listens on (backend/serving/, "
        "docs/serving.md). The default answers only on the worker's own host; `0.0.0.0` (or the host's "
        "address) lets workers and clients on other hosts reach it.",
    )
    serve_url_host: str = Field(
        "",
        description="The host name a served student's URL gives to its clients (the registered teacher's "
        "`base_url`); empty: `serve_host`, or the worker's host name where `serve_host` is `0.0.0.0`. "
        "In production the egress policy refuses private addresses: list this host in "
        "`DISTILLERY_EGRESS_ALLOW` so runs may call the served student.",
    )
    worker_gpus: str | None = Field(
        None,
        description="The GPUs (comma separated indices or UUIDs, as CUDA_VISIBLE_DEVICES names them) this "
        "worker owns: a vLLM server it starts gets exactly these as its CUDA_VISIBLE_DEVICES, and a "
        "teacher whose `tensor_parallel_size` (times its pipeline and data parallel sizes) needs more fails "
        "its stage saying so. Unset: the CUDA_VISIBLE_DEVICES the worker was started with, else every GPU "
        "the host's driver lists. One worker per GPU gives one teacher replica per GPU "
        "(docs/deployment.md, GPU layouts).",
    )
    stale_after_s: float = Field(
        120,
        gt=0,
        description="A running stage with no heartbeat for this long lost its worker: the workers' janitor "
        "re-queues it (a live task beats every quarter of this, even between progress writes).",
    )
    max_requeues: int = Field(
        3,
        ge=0,
        description="Automatic re-queues of a stage whose worker was lost; one more loss fails the stage "
        "and its run with 'worker lost N times'.",
    )
    queued_resend_after_s: float = Field(
        600,
        gt=0,
        description="A stage (or a fan-out stage's chunks) queued this long with no worker taking it gets "
        "its tasks sent again by the workers' janitor, in case the broker lost them (a crash, a flush); a "
        "spare copy is dropped at the claim, so nothing runs twice.",
    )
    upload_orphan_after_h: float = Field(
        24,
        gt=0,
        description="Hours after which a file under `DATA_DIR/uploads` that no waiting or live import reads "
        "is deleted by the workers' janitor.",
    )

    egress_allow: str = Field(
        "",
        description="Comma list of hostnames and CIDR networks the strict egress policy lets through "
        "anyway, e.g. `vllm,10.8.0.0/16` (compose allows its `vllm` service).",
    )
    egress_strict: bool | None = Field(
        None,
        description="Refuse teacher, judge, probe and synthesis URLs whose addresses are loopback, "
        "link-local (169.254.169.254), private (RFC 1918, ULA), CGNAT (100.64/10), unspecified, multicast "
        "or reserved. Unset means on in `production`, off in `development` and `test` (the demo and tests "
        "serve teachers on 127.0.0.1). Checked on every resolved address when the worker connects (it dials "
        "only what it checked) and, for literal IPs and names that resolve, when a teacher is saved (422 on "
        "`base_url`). Whatever this says, URLs with a `#` or `user@` are refused and redirects are never "
        "followed.",
    )

    model_roots: str | None = Field(
        None,
        description="Folders (comma separated; `*`: any) under which a local teacher (`vllm` or "
        "`transformers_local` without `base_url`), `train.student` or an `evaluate` model may be named by "
        "path. Unset means none in `production` (hub ids such as `Qwen/Qwen2.5-1.5B-Instruct`, and "
        "`artifact:<id>` for a model the project trained) and any in `development` and `test`. Paths are "
        "resolved (symlinks, `..`) before the check. Another project's folders under the data directory "
        "(`training/`, `snapshots/`, `uploads/`) answer 404 as a foreign id would, whatever this says. "
        "Checked when a teacher or run is created (422 or 404 naming the field) and again by the worker "
        "before it loads.",
    )

    benchmark_roots: str | None = Field(
        None,
        description="Folders (comma separated; `*`: any) under which a `benchmark` stage may name a suite "
        "of lm-evaluation-harness task files (`benchmark.suites[].path`). A task YAML may run Python of its "
        "folder (`!function`), so only an administrator's folders belong here. Unset means none in "
        "`production` and any in `development` and `test`; the same rules as DISTILLERY_MODEL_ROOTS "
        "(resolved first; another project's folders under the data directory answer 404). Checked when a "
        "run is created and again by the worker before it reads.",
    )

    batch_poll_s: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="How often a rollout in batch mode asks the provider how its batch is doing (each "
        "poll also checks for a cancel).",
    )
    dataset_roots: str | None = Field(
        None,
        description="Folders (comma separated; `*`: any) under which a prompt set may be imported from a "
        "local dataset repository folder (`POST .../prompt-sets/hub` with a path instead of a hub id; "
        "`datasets.load_dataset` reads one as it reads the Hub). Unset means none in `production` and any "
        "in `development` and `test`; the same rules as DISTILLERY_MODEL_ROOTS (resolved first; another "
        "project's folders under the data directory answer 404). Checked when the import is asked for and "
        "again by the worker before it reads.",
    )

    @field_validator(
        "egress_strict", "model_roots", "dataset_roots", "benchmark_roots", "worker_gpus", mode="before"
    )
    @classmethod
    def _empty_is_unset(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v  # `DISTILLERY_EGRESS_STRICT=` in .env

    @field_validator("worker_gpus")
    @classmethod
    def _gpu_names(cls, v: str | None) -> str | None:
        if v is None:
            return v
        names = [g.strip() for g in v.split(",")]
        if not all(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9:._-]*", g) for g in names):
            raise ValueError(
                f"DISTILLERY_WORKER_GPUS must be GPU indices or UUIDs, comma separated, not {v!r}"
            )
        return ",".join(names)

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
