"""The teacher_probe job: a few short real requests to a teacher, through the rollout's own client
(workers/teachers/factory.make_teacher), sent at once as a rollout's wave would be. Never through the
response cache: a probe must really call. The figures (output tokens/s per request, mean latency,
and for a vLLM server this worker starts, its start-up) are stored on `teachers.probe`, where the
rollout estimate reads them before the teacher's first run, with the context length the server lists
in /v1/models (vLLM's max_model_len: what an auto rollout.max_tokens uses). A probe that gets no
answer stores its error (any key scrubbed out) and fails the job with it."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import aiohttp

from backend.core.db import session_scope
from backend.core.egress import EgressPolicy, EgressRefused
from backend.core.errors import Invalid, NotFound
from backend.core.logging import error_text
from backend.jobs.kinds import JOBS
from backend.teachers.models import Teacher
from backend.teachers.schemas import TeacherProbe
from workers.celery_app import celery_app
from workers.runner import JobContext, run_job
from workers.teachers import egress as teacher_egress
from workers.teachers.base import Completion, Request, Sampling
from workers.teachers.factory import TeacherSpec, make_teacher, teacher_spec

REQUESTS = 4
MAX_TOKENS = 64
PROMPT = [{"role": "user", "content": "Count from one to fifty in words, separated by commas."}]
ERROR_CHARS = 500


def _started_vllm(spec: TeacherSpec) -> bool:
    return spec.backend == "vllm" and not spec.base_url


async def context_length(
    base_url: str, model: str, api_key: str | None, timeout_s: float, egress: EgressPolicy | None
) -> int | None:
    """The model's context length from the server's /v1/models: vLLM lists max_model_len for each model
    it serves (OpenAI and most APIs list none). None where it says nothing, cannot be asked, or the
    egress policy refuses the URL (egress None: a server this worker started)."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        if egress is not None:
            egress.check_url(base_url)
        async with (
            aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=timeout_s), connector=teacher_egress.connector(egress)
            ) as http,
            http.get(f"{base_url.rstrip('/')}/models", headers=headers, allow_redirects=False) as resp,
        ):
            if resp.status != 200:
                return None
            data = (await resp.json(content_type=None)).get("data") or []
    except (aiohttp.ClientError, TimeoutError, ValueError, AttributeError, EgressRefused):
        return None
    cards = [d for d in data if isinstance(d, dict)]
    card = next((d for d in cards if d.get("id") == model), cards[0] if len(cards) == 1 else None)
    value = card.get("max_model_len") if card else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


async def _send(spec: TeacherSpec, timeout_s: float) -> tuple[list[Completion], float | None, int | None]:
    """The probe's completions, vLLM's start-up seconds where this worker started the server, and the
    context length the server reports."""
    backend = make_teacher(
        spec,
        Sampling(temperature=0.7, max_tokens=MAX_TOKENS),
        concurrency=REQUESTS,
        max_retries=1,  # one retry of a transient fault; more would measure the backoff, not the teacher
        timeout_s=timeout_s,
    )
    out: list[Completion] = []
    try:
        requests = [Request(i, PROMPT, n=1) for i in range(REQUESTS)]
        async for _, completions in backend.generate(requests):
            out += completions
    finally:
        await backend.aclose()
    startup, context = None, None
    if _started_vllm(spec):
        from workers.teachers.vllm_server import current, release_all

        server = current()
        startup = server.startup_s if server is not None else None
        try:
            if server is not None and server.alive():
                context = await context_length(server.base_url, server.served_name, None, timeout_s, None)
        finally:
            release_all()  # a probe must not keep holding the accelerator
    elif spec.base_url:
        context = await context_length(
            spec.base_url, spec.model, spec.api_key, timeout_s, EgressPolicy.current()
        )
    return out, startup, context


def measure(completions: list[Completion]) -> dict[str, Any]:
    """tokens_per_s (sum of output tokens / sum of latencies, as the estimate weighs earlier runs),
    mean latency and token count over the completions that came back."""
    ok = [c for c in completions if c.ok and c.latency_ms is not None]
    tokens = sum(c.completion_tokens or 0 for c in ok)
    latency = sum(c.latency_ms or 0 for c in ok)
    return {
        "requests": len(completions),
        "succeeded": len(ok),
        "completion_tokens": tokens if ok else None,
        "latency_ms": round(latency / len(ok), 1) if ok else None,
        "tokens_per_s": round(tokens / (latency / 1000), 2) if tokens and latency > 0 else None,
    }


def _store(teacher_id: int, probe: TeacherProbe) -> None:
    with session_scope() as s:
        teacher = s.get(Teacher, teacher_id)
        if teacher is not None:
            teacher.probe = probe.model_dump(mode="json")


def probe_teacher(ctx: JobContext) -> dict[str, Any]:
    """The job body."""
    teacher_id = ctx.params["teacher_id"]
    with session_scope() as s:
        teacher = s.get(Teacher, teacher_id)
        if teacher is None or teacher.project_id != ctx.project_id:
            raise NotFound(f"teacher {teacher_id} not found")
        spec, name = teacher_spec(teacher), teacher.name
    ctx.progress(0, REQUESTS, force=True)
    timeout_s = min(float(spec.settings.get("timeout_s", 120)), 120.0)
    measured_at = datetime.now(UTC)
    started = time.monotonic()
    error = None
    try:
        completions, startup, context = asyncio.run(_send(spec, timeout_s))
    except Exception as exc:  # noqa: BLE001 - a server that did not start, a model that did not load
        completions, startup, context = [], None, None
        error = f"{type(exc).__name__}: {exc}"  # scrubbed and cut below, with the others
    figures = measure(completions)
    if figures["succeeded"] == 0 and error is None:
        causes = sorted({c.error for c in completions if c.error}) or ["no answer"]
        error = "; ".join(causes)
    if error is not None:
        error = error_text(error, spec.api_key, limit=ERROR_CHARS)
    probe = TeacherProbe(
        **figures,
        startup_s=round(startup, 1) if startup is not None else None,
        max_tokens=MAX_TOKENS,
        context_length=context,
        measured_at=measured_at,
        job_id=ctx.job_id,
        error=error if figures["succeeded"] == 0 else None,
    )
    _store(teacher_id, probe)
    ctx.progress(figures["requests"], REQUESTS, force=True)
    if figures["succeeded"] == 0:
        raise Invalid(
            f"the probe of teacher {name!r} got no answer: {error}",
            code="probe_failed",
            details={"teacher_id": teacher_id},
        )
    out = probe.model_dump(mode="json")
    out["wall_s"] = round(time.monotonic() - started, 2)
    if figures["succeeded"] < figures["requests"]:
        failed = sorted({c.error for c in completions if c.error})
        out["failures"] = [error_text(f, spec.api_key, limit=ERROR_CHARS) for f in failed]
    return out


@celery_app.task(name=JOBS["teacher_probe"].task, bind=True)
def teacher_probe_task(self, job_id: int) -> None:
    run_job(job_id, self.request.id, probe_teacher)
