"""The judge stage: an LLM judge scores every attempt against the project's rubric.

Chunks of prompts on the kernel's fan-out (workers/fanout.py). The thresholds are fixed once when the
stage plans (the recipe's, else calibration's against the project's human labels, else the rubric's
pass score) and stored on the stage, so every chunk decides the same way and the run records them.
"""

from __future__ import annotations

from backend.core.errors import Invalid
from backend.judge.calibration import calibrate
from backend.judge.labels import pairs_for
from backend.judge.schemas import JudgeSettings
from backend.judge.service import get_rubric
from backend.rollouts.metrics import covered_positions
from backend.rollouts.schemas import RolloutSettings
from backend.runs.models import Run, RunStage
from backend.runs.stages import STAGES
from backend.teachers.models import Teacher
from workers.celery_app import celery_app
from workers.runner import StageContext, run_stage, settings_for
from workers.stages.judge.chunk import run_chunk
from workers.stages.judge.fanout import FANOUT

KIND = STAGES["judge"]


def thresholds_for(s, settings: JudgeSettings, rubric) -> dict:
    if settings.accept_threshold is not None:
        reject = (
            settings.reject_threshold if settings.reject_threshold is not None else settings.accept_threshold
        )
        if reject > settings.accept_threshold:
            raise Invalid("judge.reject_threshold: must not be above accept_threshold")
        return {"accept": settings.accept_threshold, "reject": reject, "source": "settings", "labels": 0}
    pairs = pairs_for(s, rubric=rubric).pairs  # random labels only: the router's picks would bias it
    report = calibrate(pairs, pass_score=rubric.pass_score, target=settings.target_precision)
    if report["status"] == "calibrated":
        return {**report["thresholds"], "source": "calibrated", "labels": len(pairs)}
    return {
        "accept": rubric.pass_score,
        "reject": rubric.pass_score,
        "source": "rubric",
        "labels": len(pairs),
    }


def plan_and_dispatch(ctx: StageContext) -> None:
    settings = ctx.settings_as(JudgeSettings)
    rollout = settings_for("rollout", ctx.recipe, RolloutSettings)

    def prepare(s, stage: RunStage, run: Run) -> None:
        rubric = get_rubric(s, project_id=run.project_id, version=settings.rubric_version)
        teacher = s.get(Teacher, settings.teacher_id or run.teacher_id)
        if teacher is None or teacher.project_id != run.project_id:
            raise Invalid(f"judge.teacher_id: no teacher {settings.teacher_id} in this project")
        if not (stage.metrics or {}).get("thresholds"):  # a re-queued stage keeps what it decided with
            stage.metrics = {
                **(stage.metrics or {}),
                "rubric_version": rubric.version,
                "thresholds": thresholds_for(s, settings, rubric),
            }

    return FANOUT.dispatch(
        ctx,
        positions=lambda run: covered_positions(run.prompt_set_id, rollout),
        chunk_size=settings.chunk_size,
        per_item=rollout.n,
        prepare=prepare,
    )


@celery_app.task(name=KIND.task, bind=True)
def judge_stage(self, stage_id: int) -> None:
    run_stage(stage_id, self.request.id, plan_and_dispatch)


@celery_app.task(name=KIND.chunk_task, bind=True)
def judge_chunk_task(self, stage_id: int, chunk_id: int) -> None:
    run_chunk(stage_id, chunk_id, self.request.id)
