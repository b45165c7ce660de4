"""The edit_verify job: the run's filter verifiers on a reviewer's edit (workers/edits.py)."""

from __future__ import annotations

from typing import Any

from backend.core.db import session_scope
from backend.jobs.kinds import JOBS
from workers.celery_app import celery_app
from workers.edits import verify_edit
from workers.runner import JobContext, run_job


def verify(ctx: JobContext) -> dict[str, Any]:
    with session_scope() as s:
        verdict = verify_edit(s, int(ctx.params["review_id"]))
    ctx.progress(1, 1, force=True)
    return {"review_id": ctx.params["review_id"], "status": (verdict or {}).get("status")}


@celery_app.task(name=JOBS["edit_verify"].task, bind=True)
def edit_verify_task(self, job_id: int) -> None:
    run_job(job_id, self.request.id, verify)
