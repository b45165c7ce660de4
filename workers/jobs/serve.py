"""The serve job: a vLLM server over a trained student, held by this gpu worker until it is stopped.

The launcher is the vllm teacher's (workers/teachers/vllm_server.VLLMServer: its health wait, its log,
its record under DATA_DIR/vllm that lets the janitor stop it if this worker dies, its scrubbed crash
error). A merged student is served as its own folder; a LoRA adapter on its base with vLLM's
--enable-lora --lora-modules name=path, sibling adapters of the same base beside it. Once healthy, the
endpoint is registered (backend/serving/service.register_endpoint: one teacher row per served name);
then the task beats (the job's heartbeat and its stop check, ctx.progress) until the user stops it or
the server dies, and on the way out it stops the server and removes the teacher rows.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import socket
import threading
from pathlib import Path

from backend.core.config import get_settings
from backend.core.db import session_scope
from backend.core.errors import Invalid
from backend.jobs.kinds import JOBS
from backend.jobs.models import Job
from backend.runs.models import Status
from backend.serving.models import ServedModel
from backend.serving.service import register_endpoint, release_teachers
from backend.training.model_refs import ARTIFACT, resolve_model
from workers.celery_app import celery_app
from workers.keepalive import beat_interval_s
from workers.runner import JobContext, run_job
from workers.teachers.vllm_server import VLLMServer, VLLMServerSpec, release_all

log = logging.getLogger(__name__)
# the ranks vLLM's --max-lora-rank takes; an adapter's own r is rounded up to the next
LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)


@dataclasses.dataclass(frozen=True)
class Plan:
    model: str  # the folder (merged) or the base (adapters) vLLM loads
    served_name: str
    adapters: tuple[tuple[str, str, int], ...]  # (name, folder, rank) for --lora-modules
    settings: dict


def adapter_rank(folder: Path) -> int | None:
    """The LoRA rank of an adapter folder (PEFT's adapter_config.json), None for full weights."""
    cfg = folder / "adapter_config.json"
    if not cfg.is_file():
        return None
    return int(json.loads(cfg.read_text()).get("r") or 8)


def plan_of(ctx: JobContext) -> Plan:
    """What to start, from the served row: every folder resolved (and checked) again here."""
    with session_scope() as s:
        row = s.get_one(ServedModel, int(ctx.params["served_id"]))
        adapters = list(row.adapters or [])
        folders = []
        for i, a in enumerate(adapters):
            if a.get("artifact_id") is None:
                raise Invalid(f"adapters.{i}: the model {a['name']!r} was deleted", code="model_not_found")
            folder = Path(
                resolve_model(s, row.project_id, f"{ARTIFACT}{a['artifact_id']}", field=f"adapters.{i}")
            )
            folders.append((a["name"], folder, adapter_rank(folder)))
        base = None
        if folders and folders[0][2] is not None:
            from backend.datasets.models import ModelArtifact

            art = s.get_one(ModelArtifact, adapters[0]["artifact_id"])
            base = resolve_model(s, row.project_id, art.base_model, field="base_model")
        settings, name = dict(row.settings or {}), row.name
    if base is None:  # full weights: the folder itself, under the served name
        if len(folders) > 1:
            raise Invalid(
                "several adapters are served on one base: the model is full weights (merged), not a LoRA "
                "adapter; serve it alone",
                code="not_an_adapter",
            )
        return Plan(str(folders[0][1]), name, (), settings)
    for n, folder, rank in folders:
        if rank is None:
            raise Invalid(
                f"the model {n!r} ({folder}) is full weights, not a LoRA adapter", code="not_an_adapter"
            )
    lora = tuple((n, str(folder), int(rank or 8)) for n, folder, rank in folders)
    return Plan(base, f"{name}-base", lora, settings)


def server_spec(plan: Plan) -> VLLMServerSpec:
    """The vllm teacher's spec from the settings (their checks), plus the LoRA flags this job sets."""
    spec = VLLMServerSpec.from_settings(plan.model, {**plan.settings, "served_model_name": plan.served_name})
    if not plan.adapters:
        return spec
    rank = max(r for _, _, r in plan.adapters)
    flags = ["--enable-lora", "--max-loras", str(len(plan.adapters))]
    flags += ["--max-lora-rank", str(next((r for r in LORA_RANKS if r >= rank), rank))]
    flags += ["--lora-modules", *(f"{n}={folder}" for n, folder, _ in plan.adapters)]
    return dataclasses.replace(spec, extra_args=(*spec.extra_args, *flags))


def serve(ctx: JobContext) -> dict:
    served_id = int(ctx.params["served_id"])
    plan = plan_of(ctx)
    settings = get_settings()
    release_all()  # a warm teacher server this process kept from a rollout: one server holds the GPU
    server = VLLMServer(server_spec(plan), host=settings.serve_host, url_host=settings.serve_url_host)
    try:
        server.start()
        assert server.proc is not None
        with session_scope() as s:
            register_endpoint(
                s,
                served_id=served_id,
                base_url=server.base_url,
                pid=server.proc.pid,
                host=socket.gethostname(),
            )
        log.info("serving %s at %s (job %s)", plan.served_name, server.base_url, ctx.job_id)
        wake = threading.Event()
        while True:
            ctx.progress(0, force=True)  # the heartbeat; raises Cancelled once the user stopped it
            if (died := server.crash()) is not None:
                raise died
            wake.wait(min(beat_interval_s(), 5.0))
    finally:
        server.stop()
        with session_scope() as s:
            release_teachers(s, s.get_one(ServedModel, served_id))


@celery_app.task(name=JOBS["serve"].task, bind=True)
def serve_task(self, job_id: int) -> None:
    # Redis hands an unacknowledged task out again after its visibility timeout, while the first copy
    # still serves: a copy that finds the job running leaves it to its holder (a holder that died is
    # the janitor's: fail_lost_jobs ends the job once its heartbeat is stale).
    with session_scope() as s:
        job = s.get(Job, job_id)
        if job is not None and job.status == Status.running:
            log.info(
                "serve job %s already held by task %s; copy %s dropped", job_id, job.task_id, self.request.id
            )
            return
    log.info("serve job %s taken by worker process %s", job_id, os.getpid())
    run_job(job_id, self.request.id, serve)
