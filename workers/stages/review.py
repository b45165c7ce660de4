"""The review stage: route what only people can settle, and a random audit, into the run's human review
queue, then wait.

The stage task only fills the queue and returns DEFERRED; the API completes the stage
(backend/reviews/summary.finish_if_drained) once the queue is drained or a maintainer closes it.
A queue with nothing in it completes at once.
"""

from __future__ import annotations

from backend.core.db import session_scope
from backend.reviews import progress
from backend.reviews.routing import reason_pages, route
from backend.reviews.schemas import ReviewSettings
from backend.reviews.summary import summary
from backend.runs.models import Run
from backend.runs.stages import STAGES
from workers.celery_app import celery_app
from workers.runner import DEFERRED, StageContext, run_stage


def fill_queue(ctx: StageContext):
    settings = ctx.settings_as(ReviewSettings)
    with session_scope() as s:
        run = s.get_one(Run, ctx.run_id)
        judge = (run.summary or {}).get("judge") or {}
        version = str(judge["rubric_version"]) if judge else None
        thresholds = judge.get("thresholds") or {}
        calibrated = thresholds.get("source") == "calibrated"
        route(
            s,
            run_id=run.id,
            pages=lambda: reason_pages(
                s,
                run_id=run.id,
                judge_version=version,
                settings=settings,
                calibrated=calibrated,
                accept=thresholds.get("accept"),
            ),
            settings=settings,
        )
        done, slots = progress.routed(s, run_id=run.id)  # a re-run keeps the decisions made so far
        if slots == 0:
            return summary(s, run=run)
    ctx.progress(done, slots, force=True)  # decisions move it on from here (backend/reviews/progress.py)
    return DEFERRED


@celery_app.task(name=STAGES["review"].task, bind=True)
def review_stage(self, stage_id: int) -> None:
    run_stage(stage_id, self.request.id, fill_queue)
