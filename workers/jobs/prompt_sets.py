"""Prompt-set jobs: import a file or a dataset as a new version (atomically), or clean a version into a
new one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from backend.core.db import session_scope
from backend.jobs.kinds import JOBS
from backend.projects.models import Project
from backend.prompts import service
from backend.prompts.importer import HUB
from backend.prompts.schemas import CleaningOptions, ColumnMapping, PromptSetOut
from backend.prompts.search import queue_indexing
from backend.users.models import User
from workers.celery_app import celery_app
from workers.jobs.reference_stats import reference_stats
from workers.progress import side_writes_allowed
from workers.runner import JobContext, run_job


def _queue_search(ctx: JobContext, out: dict[str, Any]) -> int | None:
    """The follow-up job that fills prompt_search for the new, committed set (None on SQLite)."""
    return queue_indexing(
        project_id=ctx.project_id, prompt_set_id=out["prompt_set"]["id"], user_id=ctx.user_id
    )


def import_prompts(ctx: JobContext) -> dict[str, Any]:
    """The job body: one transaction, so a rejected file leaves nothing behind."""
    p = ctx.params
    path = Path(p["path"])
    try:
        with session_scope() as s:
            pset, report = service.import_prompt_set(
                s,
                project=s.get_one(Project, ctx.project_id),
                user=s.get(User, ctx.user_id) if ctx.user_id else None,
                name=p["name"],
                path=path,
                filename=p["filename"],
                mapping=ColumnMapping.model_validate(p["mapping"]) if p.get("mapping") else None,
                skip_invalid=p.get("skip_invalid", False),
                options=CleaningOptions.model_validate(p.get("options") or {}),
                on_progress=ctx.progress if side_writes_allowed() else None,
                fmt=HUB if p.get("hub") else None,  # only the hub route sets it: a file never reads as one
            )
            out: dict[str, Any] = {
                "prompt_set": PromptSetOut.model_validate(pset).model_dump(mode="json"),
                "report": report.out().model_dump(mode="json"),
            }
    finally:
        path.unlink(missing_ok=True)
    ctx.progress(report.rows_read, report.rows_read, force=True)
    # After the import's own transaction: neither the search index nor a slow reference check holds
    # the import's rows back.
    out["search_job_id"] = _queue_search(ctx, out)
    out["prompt_set"]["stats"]["references"] = reference_stats(out["prompt_set"]["id"])
    return out


@celery_app.task(name=JOBS["prompt_import"].task, bind=True)
def prompt_import_task(self, job_id: int) -> None:
    run_job(job_id, self.request.id, import_prompts)


def derive_version(ctx: JobContext) -> dict[str, Any]:
    """The job body: dedup / decontaminate / split an existing version into a new one."""
    with session_scope() as s:
        project = s.get_one(Project, ctx.project_id)
        source = service.get_prompt_set(s, project=project, prompt_set_id=ctx.params["source_id"])
        ctx.progress(0, source.prompt_count, force=True)
        pset = service.derive_version(
            s,
            project=project,
            source=source,
            user=s.get(User, ctx.user_id) if ctx.user_id else None,
            options=CleaningOptions.model_validate(ctx.params["options"]),
            on_progress=ctx.progress if side_writes_allowed() else None,
        )
        out: dict[str, Any] = {"prompt_set": PromptSetOut.model_validate(pset).model_dump(mode="json")}
        total = source.prompt_count
    ctx.progress(total, total, force=True)
    out["search_job_id"] = _queue_search(ctx, out)
    return out


@celery_app.task(name=JOBS["prompt_derive"].task, bind=True)
def prompt_derive_task(self, job_id: int) -> None:
    run_job(job_id, self.request.id, derive_version)


def synthesize(ctx: JobContext) -> dict[str, Any]:
    """The job body: the teacher evolves seed prompts; the variants land as a new version with lineage."""
    import asyncio
    from collections import Counter

    from sqlalchemy import select

    from backend.core.errors import Invalid
    from backend.prompts.importer import ParsedPrompt
    from backend.prompts.models import Prompt
    from backend.prompts.synthesis import SynthesisOptions, clean_variant, conversation
    from backend.teachers.service import api_key_of, get_teacher
    from workers.teachers.base import Sampling
    from workers.teachers.openai_compat import OpenAICompatClient

    opts = SynthesisOptions.model_validate(ctx.params["options"])
    with session_scope() as s:
        project = s.get_one(Project, ctx.project_id)
        source = service.get_prompt_set(s, project=project, prompt_set_id=ctx.params["source_id"])
        teacher = get_teacher(s, project=project, teacher_id=opts.teacher_id)
        if not teacher.base_url:
            raise Invalid(
                f"teacher {teacher.name!r} has no base_url; synthesis needs an OpenAI-compatible endpoint",
                code="teacher_without_endpoint",
            )
        client = OpenAICompatClient(
            base_url=teacher.base_url,
            model=teacher.model,
            api_key=api_key_of(teacher),
            concurrency=opts.concurrency,
            max_retries=int(teacher.settings.get("max_retries", 5)),
            timeout_s=float(teacher.settings.get("timeout_s", 120)),
            sampling=Sampling(temperature=opts.temperature, max_tokens=opts.max_tokens),
        )
        stmt = (
            select(Prompt.position, Prompt.text)
            .where(Prompt.prompt_set_id == source.id)
            .order_by(Prompt.position)
        )
        seeds = s.execute(stmt.limit(opts.max_seeds) if opts.max_seeds else stmt).all()
        next_pos = (
            s.scalar(
                select(Prompt.position)
                .where(Prompt.prompt_set_id == source.id)
                .order_by(Prompt.position.desc())
                .limit(1)
            )
            or 0
        ) + 1
        teacher_name, label = (
            teacher.name,
            f"synthesized from {source.name} v{source.version} by {teacher.name}",
        )
    jobs = [(pos, text, evo) for pos, text in seeds for evo in opts.evolutions]
    ctx.progress(0, len(jobs), force=True)
    variants: list[ParsedPrompt] = []
    dropped: Counter[str] = Counter()
    chunk = max(opts.concurrency * 4, 64)
    for start in range(0, len(jobs), chunk):
        part = jobs[start : start + chunk]
        answers = asyncio.run(client.chat_many([conversation(text, evo) for _, text, evo in part]))
        for (pos, seed, evo), (answer,) in zip(part, answers, strict=True):
            if not answer.ok:
                dropped[f"teacher_failed: {answer.error}"] += 1
                continue
            cleaned = clean_variant(answer.content, seed)
            if cleaned[0] is None:
                dropped[cleaned[1]] += 1  # why it was dropped
                continue
            text = cleaned[0]
            meta = {
                "evolved_from": pos,
                "evolution": evo.value,
                "teacher": teacher_name,
                "finish_reason": answer.finish_reason,
            }
            variants.append(ParsedPrompt(next_pos + len(variants), text, meta=meta))
        ctx.progress(start + len(part), len(jobs))
    if not variants:
        raise Invalid(
            f"the teacher produced no usable variant out of {len(jobs)} requests",
            code="no_variants",
            details={"dropped": dict(dropped)},
        )
    with session_scope() as s:
        project = s.get_one(Project, ctx.project_id)
        source = service.get_prompt_set(s, project=project, prompt_set_id=ctx.params["source_id"])
        pset = service.derive_version(
            s,
            project=project,
            source=source,
            user=s.get(User, ctx.user_id) if ctx.user_id else None,
            options=CleaningOptions.model_validate(ctx.params.get("cleaning") or {}),
            extra=variants,
            label=label,
        )
        out = {
            "prompt_set": PromptSetOut.model_validate(pset).model_dump(mode="json"),
            "requested": len(jobs),
            "variants": len(variants),
            "dropped": dict(dropped),
            "added": pset.prompt_count - source.prompt_count,
        }
    out["search_job_id"] = _queue_search(ctx, out)
    return out


@celery_app.task(name=JOBS["prompt_synthesize"].task, bind=True)
def prompt_synthesize_task(self, job_id: int) -> None:
    run_job(job_id, self.request.id, synthesize)
