"""The benchmark stage: each model (the base student, the trained student, the teacher, a served
endpoint, or one named) runs the recipe's lm-evaluation-harness suites (task YAMLs and data in local
folders; no hub), and lm-eval's scores per task are stored beside the run's in-task evaluations.

A local model runs on lm-eval's `hf` model in this worker; an endpoint is asked through
`local-chat-completions` (or `local-completions`) with the teacher's stored key. Think tokens are
stripped before the task's own filters (workers/benchmarks/harness.py). Each row's config hash covers
the model's files, every file of the suite, lm-eval's version and the settings that reach it.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

from sqlalchemy import delete

from backend.core.db import session_scope
from backend.core.egress import EgressPolicy, EgressRefused
from backend.core.errors import Invalid
from backend.evals import config_hash as ch
from backend.evals.benchmark_schemas import BenchmarkSettings
from backend.evals.benchmarks import BenchContender, contenders, suite_folder
from backend.evals.models import BenchmarkResult
from backend.runs.models import Run
from backend.runs.stages import STAGES
from backend.teachers.models import Teacher
from backend.teachers.service import api_key_of
from workers.benchmarks import harness
from workers.celery_app import celery_app
from workers.runner import StageContext, run_stage

log = logging.getLogger(__name__)


def _check_egress(c: BenchContender, url: str) -> None:
    """The egress policy (backend/core/egress.py) on the endpoint before lm-eval's own client calls it:
    that client dials what it resolves itself, so the addresses are checked here, once, up front."""
    policy = EgressPolicy.current()
    try:
        parts = policy.check_url(url)
        host = parts.hostname or ""
        for *_, addr in socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP):
            policy.check_ip(host, str(addr[0]))
    except EgressRefused as exc:
        raise Invalid(f"benchmark: {c.label}: {exc}", code="egress_refused") from None
    except OSError as exc:  # the name does not resolve: an infrastructure failure, not the data's
        raise RuntimeError(f"benchmark: {c.label}: {host} does not resolve: {exc}") from None


def _model_args(c: BenchContender, key: str | None) -> tuple[str, dict[str, Any]]:
    """lm-eval's model name and arguments for one contender."""
    o = c.options
    if c.base_url is None:
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
        return "hf", {"pretrained": c.model, "dtype": o.dtype, "batch_size": o.batch_size, "device": device}
    chat = o.api == "chat"
    url = c.base_url.rstrip("/") + ("/chat/completions" if chat else "/completions")
    _check_egress(c, url)
    args: dict[str, Any] = {
        "model": c.model,
        "base_url": url,
        "num_concurrent": o.num_concurrent,
        "max_retries": 3,
        "tokenized_requests": False,
        "tokenizer_backend": "none",
        "timeout": 3600,  # a reasoning model's long answer
    }
    if key:  # lm-eval reads OPENAI_API_KEY otherwise: a header keeps the key out of the process env
        args["header"] = {"Authorization": f"Bearer {key}"}
    return ("local-chat-completions" if chat else "local-completions"), args


def _harness_settings(settings: BenchmarkSettings, c: BenchContender) -> dict[str, Any]:
    """What reaches the harness and can change a score: in the config hash."""
    keys = ("max_gen_toks", "strip_think", "apply_chat_template", "num_fewshot", "limit", "seed")
    out: dict[str, Any] = {k: getattr(settings, k) for k in keys}
    out |= {"dtype": c.options.dtype} if c.base_url is None else {"api": c.options.api}
    return out


class _Progress:
    """(model, suite) runs done of all: the harness reports nothing while it runs, so the stage's
    progress (and its cancel check) moves between runs."""

    def __init__(self, ctx: StageContext, total: int):
        self.ctx, self.done, self.total = ctx, 0, total
        ctx.progress(0, total, force=True)

    def step(self) -> None:
        self.done += 1
        self.ctx.progress(self.done, self.total, force=True)


def _run_one(ctx: StageContext, c: BenchContender, suites, settings: BenchmarkSettings, project_id: int,
             version: str, progress: _Progress) -> dict[str, Any]:  # fmt: skip
    key = None
    if c.teacher_id is not None:
        with session_scope() as s:
            key = api_key_of(s.get_one(Teacher, c.teacher_id))
    name, args = _model_args(c, key)
    tasks = []
    for suite_path, configs in suites:
        try:
            results = harness.evaluate(name, args, configs, settings=settings)
        except (ValueError, KeyError, NotImplementedError) as exc:
            # a task the model cannot run (log-likelihood over chat completions) or a bad task file
            raise Invalid(f"benchmark: {c.label} on {suite_path}: {exc}", code="benchmark_failed") from exc
        endpoint = {"base_url": c.base_url, "api": c.options.api} if c.base_url else None
        for task, (metrics, n) in sorted(harness.task_scores(results).items()):
            config = ch.benchmark_config_of(model=c.model, endpoint=endpoint, suite=suite_path, task=task,
                                            harness={"lm_eval": version},
                                            settings=_harness_settings(settings, c))  # fmt: skip
            tasks.append({"task": task, "suite": suite_path, "metrics": metrics, "samples": n,
                          "config": config, "config_hash": ch.config_hash(config)})  # fmt: skip
        progress.step()
    with session_scope() as s:
        # a stage that runs again replaces what an earlier attempt stored for this model
        s.execute(delete(BenchmarkResult).where(BenchmarkResult.stage_id == ctx.stage_id,
                                                BenchmarkResult.label == c.label))  # fmt: skip
        for t in tasks:
            s.add(BenchmarkResult(project_id=project_id, run_id=ctx.run_id, stage_id=ctx.stage_id,
                                  artifact_id=c.artifact_id, label=c.label, role=c.role, model=c.model[:300],
                                  lm_eval_version=version, **t))  # fmt: skip
    return {
        "label": c.label,
        "role": c.role,
        "model": c.model,
        "tasks": [{k: t[k] for k in ("task", "suite", "metrics", "samples", "config_hash")} for t in tasks],
    }


def benchmark(ctx: StageContext) -> dict[str, Any]:
    settings = ctx.settings_as(BenchmarkSettings)
    with session_scope() as s:
        run = s.get_one(Run, ctx.run_id)
        models = contenders(s, run, settings)
        project_id = run.project_id
    suites = []
    for i, suite in enumerate(settings.suites):
        folder = suite_folder(project_id, suite.path, field=f"benchmark.suites.{i}.path")  # roots again
        try:
            suites.append((str(folder), harness.load_suite(folder, suite.tasks, strip=settings.strip_think)))
        except ValueError as exc:
            raise Invalid(f"benchmark.suites.{i} ({suite.path}): {exc}", code="benchmark_bad_suite") from None
    version = harness.version()
    progress = _Progress(ctx, len(models) * len(suites))
    scores = [_run_one(ctx, c, suites, settings, project_id, version, progress) for c in models]
    return {"lm_eval_version": version, "models": scores}


@celery_app.task(name=STAGES["benchmark"].task, bind=True)
def benchmark_stage(self, stage_id: int) -> None:
    run_stage(stage_id, self.request.id, benchmark)
