"""The profile stage: how many prompts, and how long they are; in a run with a rollout, over the split the
rollout covers (the train split by default), so its count is the rollout's."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, true

from backend.core.db import session_scope
from backend.core.stats import percentile
from backend.prompts.models import Prompt, PromptSet
from backend.prompts.profile import ProfileSettings
from backend.rollouts.metrics import split_filter
from backend.rollouts.schemas import RolloutSettings
from backend.runs.stages import STAGES
from workers.celery_app import celery_app
from workers.runner import StageContext, run_stage, settings_for

PAGE = 10_000


def _describe(values: list[int], pcts: list[int]) -> dict[str, Any]:
    values.sort()
    if not values:
        return {"min": 0, "max": 0, "mean": 0.0, "percentiles": {}}
    return {
        "min": values[0],
        "max": values[-1],
        "mean": round(sum(values) / len(values), 2),
        "percentiles": {f"p{p}": round(percentile(values, p), 2) for p in pcts},
    }


def profile(ctx: StageContext) -> dict[str, Any]:
    """Count the run's prompts and their length percentiles in characters and words."""
    settings = ctx.settings_as(ProfileSettings) if ctx.settings is not None else ProfileSettings()
    chars: list[int] = []
    words: list[int] = []
    rollout = None
    if "rollout" in (ctx.recipe.get("stages") or []):
        rollout = settings_for("rollout", ctx.recipe, RolloutSettings)
    split = rollout.split if rollout else "all"
    where = split_filter(rollout) if rollout else true()
    with session_scope() as s:
        if split == "all":
            total = s.get_one(PromptSet, ctx.prompt_set_id).prompt_count
        else:
            total = (
                s.scalar(select(func.count()).where(Prompt.prompt_set_id == ctx.prompt_set_id, where)) or 0
            )
    ctx.progress(0, total, force=True)
    last = -1
    while True:
        with session_scope() as s:
            stmt = (
                select(Prompt.position, Prompt.text)
                .where(Prompt.prompt_set_id == ctx.prompt_set_id, Prompt.position > last, where)
                .order_by(Prompt.position)
                .limit(PAGE)
            )
            rows = s.execute(stmt).all()
        if not rows:
            break
        for _, text in rows:
            chars.append(len(text))
            words.append(len(text.split()))
        last = rows[-1][0]
        ctx.progress(len(chars), total)
    ctx.progress(len(chars), total, force=True)
    pcts = settings.percentiles
    return {
        "prompt_count": len(chars),
        "split": split,
        "chars": _describe(chars, pcts),
        "words": _describe(words, pcts),
    }


@celery_app.task(name=STAGES["profile"].task, bind=True)
def profile_stage(self, stage_id: int) -> None:
    run_stage(stage_id, self.request.id, profile)
