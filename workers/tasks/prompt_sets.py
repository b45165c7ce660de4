"""Prompt-set jobs: import a file as a new version (atomically), or clean a version into a new one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from backend.core.db import session_scope
from backend.projects.models import Project
from backend.prompts import service
from backend.prompts.schemas import CleaningOptions, ColumnMapping, PromptSetOut
from backend.users.models import User
from workers.celery_app import celery_app
from workers.job_runner import JobContext, run_job
from workers.progress import side_writes_allowed


def import_prompts(ctx: JobContext) -> dict[str, Any]:
    """The job body: one transaction, so a rejected file leaves nothing behind."""
    p = ctx.params
    path = Path(p["path"])
    try:
        with session_scope() as s:
            pset, report = service.import_prompt_set(
                s,
                project=s.get(Project, ctx.project_id),
                user=s.get(User, ctx.user_id) if ctx.user_id else None,
                name=p["name"],
                path=path,
                filename=p["filename"],
                mapping=ColumnMapping.model_validate(p["mapping"]) if p.get("mapping") else None,
                skip_invalid=p.get("skip_invalid", False),
                options=CleaningOptions.model_validate(p.get("options") or {}),
                on_progress=ctx.progress if side_writes_allowed() else None,
            )
            out = {
                "prompt_set": PromptSetOut.model_validate(pset).model_dump(mode="json"),
                "report": report.out().model_dump(mode="json"),
            }
    finally:
        path.unlink(missing_ok=True)
    ctx.progress(report.rows_read, report.rows_read, force=True)
    return out


@celery_app.task(name="distillery.prompts.import", bind=True)
def prompt_import_task(self, job_id: int) -> None:
    run_job(job_id, self.request.id, import_prompts)


def derive_version(ctx: JobContext) -> dict[str, Any]:
    """The job body: dedup / decontaminate / split an existing version into a new one."""
    with session_scope() as s:
        project = s.get(Project, ctx.project_id)
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
        out = {"prompt_set": PromptSetOut.model_validate(pset).model_dump(mode="json")}
        total = source.prompt_count
    ctx.progress(total, total, force=True)
    return out


@celery_app.task(name="distillery.prompts.derive", bind=True)
def prompt_derive_task(self, job_id: int) -> None:
    run_job(job_id, self.request.id, derive_version)
