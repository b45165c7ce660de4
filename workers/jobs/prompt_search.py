"""The prompt_search_index job: fill a committed prompt set's search rows (backend/prompts/search.py)."""

from __future__ import annotations

from typing import Any

from backend.jobs.kinds import JOBS
from backend.prompts.search import index_prompt_set
from workers.celery_app import celery_app
from workers.runner import JobContext, run_job


def index_search(ctx: JobContext) -> dict[str, Any]:
    """The job body: chunks of the set's prompts into prompt_search, cancellable between chunks
    (PostgreSQL only: nothing queues it on SQLite)."""
    out = index_prompt_set(ctx.params["prompt_set_id"], on_progress=ctx.progress)
    ctx.progress(out["prompts"], out["prompts"], force=True)
    return out


@celery_app.task(name=JOBS["prompt_search_index"].task, bind=True)
def prompt_search_index_task(self, job_id: int) -> None:
    run_job(job_id, self.request.id, index_search)
