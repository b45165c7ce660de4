"""The hub_push job: a snapshot as a dataset repository (its Parquet configs and its card as README.md)
or a student as a model repository (weights or LoRA adapter, the tokenizer with the family's original
chat template, generation_config, and backend/hub/card.py's card), through huggingface_hub's HfApi at the
project's endpoint with its token.

Idempotent on retry: create_repo(exist_ok=True), and create_commit leaves out every file the Hub
already holds unchanged (the preupload answer carries each remote oid), so a push that failed half way
or is repeated commits only what is missing, and a repeated push of the same thing commits nothing.

Errors say who is at fault: 401 is "the Hub token was refused", 403 a token that may not write there,
any other 4xx the Hub's refusal in its words; a connection that fails, a timeout or a 5xx is an
infrastructure error (`hub_unreachable`, details.infrastructure), never a verdict on the data. The token
is scrubbed from every stored error."""

from __future__ import annotations

import contextlib
import fnmatch
import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from backend.core.config import get_settings
from backend.core.db import session_scope
from backend.core.egress import EgressPolicy, EgressRefused
from backend.core.errors import AppError, Invalid, NotFound
from backend.core.logging import error_text
from backend.datasets.models import DatasetSnapshot, ModelArtifact
from backend.hub.card import hub_model_card
from backend.hub.models import HubPush
from backend.hub.service import credentials
from backend.jobs.kinds import JOBS
from workers.celery_app import celery_app
from workers.runner import JobContext, run_job

log = logging.getLogger(__name__)
T = TypeVar("T")
STEPS = 4  # token, repository, files, recorded

# What a model repository gets from the model's folder (top level only): weights or an adapter, the
# tokenizer and its chat template, the configs. Never checkpoints, optimiser state or training args.
MODEL_FILES = (
    "*.safetensors", "model.safetensors.index.json", "pytorch_model*.bin", "adapter_model.bin",
    "config.json", "generation_config.json", "adapter_config.json",
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
    "vocab.json", "merges.txt", "tokenizer.model", "chat_template.jinja", "chat_template.json",
)  # fmt: skip


class HubUnreachable(AppError):
    """The Hub could not be reached or failed on its side: infrastructure, not the data."""

    status_code, code = 503, "hub_unreachable"


@contextlib.contextmanager
def online() -> Iterator[None]:
    """HF_HUB_OFFLINE keeps a worker from downloading models at run time; a push is an explicit upload
    to the endpoint the project names, so it is let through for the push's own requests (a prefork
    worker process runs one task at a time)."""
    from huggingface_hub import constants

    before = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = False
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = before


def hub_call(fn: Callable[[], T], *, what: str, endpoint: str, token: str) -> T:
    """fn() with its failures told apart (see the module's docstring)."""
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError

    try:
        return fn()
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else None
        said = error_text(str(exc), token, limit=300)
        if status == 401:
            raise Invalid(
                f"the Hub token was refused ({endpoint} answered 401 to {what}): set a valid write token",
                code="hub_token_refused",
            ) from None
        if status == 403:
            raise Invalid(
                f"the Hub token may not {what} (403 from {endpoint}): {said}", code="hub_forbidden"
            ) from None
        if status is None or status >= 500 or status == 429:
            raise HubUnreachable(
                f"infrastructure error, not a verdict on the data: {endpoint} failed to {what} "
                f"(HTTP {status}): {said}. Push again once the Hub answers.",
                details={"infrastructure": True, "http_status": status},
            ) from None
        raise Invalid(f"the Hub refused to {what} (HTTP {status}): {said}", code="hub_refused") from None
    except (httpx2.TransportError, OSError) as exc:
        raise HubUnreachable(
            f"infrastructure error, not a verdict on the data: could not reach the Hub at {endpoint} to "
            f"{what} ({error_text(exc, token, limit=300)}). Push again once it can be reached.",
            details={"infrastructure": True},
        ) from None


def snapshot_files(snap: DatasetSnapshot) -> tuple[list[tuple[str, Path | bytes]], str]:
    """The snapshot's Parquet configs (the files its card's YAML names) and its card as README.md."""
    folder = get_settings().data_dir / "snapshots" / str(snap.project_id) / snap.content_hash
    names = [
        n for n in sorted(snap.files or {}) if n.endswith(".parquet") and n != "teacher_logprobs.parquet"
    ]
    missing = [n for n in names if not (folder / n).is_file()]
    if not names or missing:
        raise NotFound(
            f"the files of snapshot {snap.id} are gone from the data directory ({missing or 'none'})"
        )
    card = (snap.card or {}).get("markdown") or ""
    files: list[tuple[str, Path | bytes]] = [(n, folder / n) for n in names]
    return [
        *files,
        ("README.md", card.encode()),
    ], f"snapshot {snap.id} ({snap.name}, sha256 {snap.content_hash})"


def model_files(art: ModelArtifact, card: str) -> tuple[list[tuple[str, Path | bytes]], str]:
    """The model folder's weights or adapter, tokenizer, template and configs, and the card."""
    folder = Path(art.path)
    if not folder.is_dir():
        raise NotFound(f"the folder of model {art.id} is gone from the worker's disk ({folder})")
    names = sorted(
        p.name
        for p in folder.iterdir()
        if p.is_file() and any(fnmatch.fnmatch(p.name, g) for g in MODEL_FILES)
    )
    if not any(n.endswith((".safetensors", ".bin")) for n in names):
        raise Invalid(
            f"model {art.id} has neither weights nor an adapter in {folder}", code="model_incomplete"
        )
    if "tokenizer_config.json" not in names:
        raise Invalid(f"model {art.id} has no tokenizer in {folder}", code="model_incomplete")
    if "chat_template.jinja" not in names and "chat_template" not in json.loads(
        (folder / "tokenizer_config.json").read_text()
    ):
        raise Invalid(f"model {art.id}'s tokenizer has no chat template in {folder}", code="model_incomplete")
    files: list[tuple[str, Path | bytes]] = [(n, folder / n) for n in names]
    kind = "LoRA adapter" if "adapter_config.json" in names else "weights"
    return [
        *files,
        ("README.md", card.encode()),
    ], f"model {art.id} ({art.method} of {art.base_model}, {kind})"


def _load(push_id: int, project_id: int) -> dict[str, Any]:
    """Everything the push needs, read in one session and closed before any network call."""
    with session_scope() as s:
        push = s.get(HubPush, push_id)
        if push is None or push.project_id != project_id:
            raise NotFound(f"push {push_id} not found")
        endpoint, token = credentials(s, project_id)
        if not token:
            raise Invalid("this project has no Hub token (it was cleared): set one and push again",
                          code="hub_token_missing")  # fmt: skip
        if push.kind == "snapshot":
            snap = s.get(DatasetSnapshot, push.object_id)
            if snap is None or snap.project_id != project_id:
                raise NotFound(f"snapshot {push.object_id} not found")
            files, what = snapshot_files(snap)
        else:
            art = s.get(ModelArtifact, push.object_id)
            if art is None or art.project_id != project_id:
                raise NotFound(f"model {push.object_id} not found")
            files, what = model_files(art, hub_model_card(s, art))
        return {"kind": push.kind, "repo_id": push.repo_id, "private": push.private, "endpoint": endpoint,
                "token": token, "files": files, "what": what}  # fmt: skip


def push(ctx: JobContext) -> dict[str, Any]:
    """The job body."""
    from huggingface_hub import CommitOperationAdd, HfApi

    push_id = int(ctx.params["push_id"])
    job = _load(push_id, ctx.project_id)
    endpoint, token, repo_id = job["endpoint"], job["token"], job["repo_id"]
    repo_type = "dataset" if job["kind"] == "snapshot" else "model"
    try:
        EgressPolicy.current().check_host_now(endpoint)
    except EgressRefused as exc:
        raise Invalid(f"the Hub's URL is refused: {exc}", code="egress_refused") from None
    api = HfApi(endpoint=endpoint, token=token)
    call = {"endpoint": endpoint, "token": token}
    ctx.progress(0, STEPS, force=True)
    with online():
        user = hub_call(api.whoami, what="say whose token it is", **call)
        ctx.progress(1, STEPS, force=True)
        url = hub_call(
            lambda: api.create_repo(repo_id, repo_type=repo_type, private=job["private"], exist_ok=True),
            what=f"create {repo_type} repository {repo_id}",
            **call,
        )
        ctx.progress(2, STEPS, force=True)
        ops = [CommitOperationAdd(path_in_repo=name, path_or_fileobj=src) for name, src in job["files"]]
        commit = hub_call(
            lambda: api.create_commit(
                repo_id, ops, repo_type=repo_type, commit_message=f"Distillery: {job['what']}"
            ),
            what=f"commit to {repo_id}",
            **call,
        )
    ctx.progress(3, STEPS, force=True)
    with session_scope() as s:
        row = s.get_one(HubPush, push_id)
        row.url, row.commit, row.pushed_at = str(url), commit.oid, datetime.now(UTC)
    ctx.progress(STEPS, STEPS, force=True)
    log.info("pushed %s to %s (%s)", job["what"], url, commit.oid)
    return {"push_id": push_id, "url": str(url), "repo_id": repo_id, "repo_type": repo_type,
            "commit": commit.oid, "commit_url": commit.commit_url, "files": [n for n, _ in job["files"]],
            "user": (user or {}).get("name")}  # fmt: skip


@celery_app.task(name=JOBS["hub_push"].task, bind=True)
def hub_push_task(self, job_id: int) -> None:
    run_job(job_id, self.request.id, push)
