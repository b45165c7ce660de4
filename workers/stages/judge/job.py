"""What one judge chunk task needs, read once when it claims the chunk, and the verdict a reply makes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.orm import Session

from backend.core.errors import Invalid
from backend.judge.models import Rubric
from backend.judge.prompt import read_reply
from backend.judge.schemas import JudgeSettings
from backend.judge.service import get_rubric
from backend.prices.service import Quote, quote_for
from backend.rollouts.requests import endpoint_of
from backend.rollouts.schemas import RolloutSettings
from backend.runs.models import Run, RunStage, StageChunk
from backend.teachers.models import Teacher
from backend.verifiers.filter import FilterSettings
from workers.runner import settings_for
from workers.teachers.base import Completion, Sampling
from workers.teachers.factory import TeacherSpec, teacher_spec
from workers.verdicts import final_of


@dataclass
class JudgeJob:
    stage_id: int
    chunk_id: int
    run_id: int
    prompt_set_id: int
    first: int
    last: int
    settings: Any  # JudgeSettings
    rollout: Any  # RolloutSettings
    teacher: TeacherSpec
    quote: Quote | None
    rubric: dict[str, Any]  # template, scale, scale_min, scale_max, version
    thresholds: dict[str, Any]
    cache_prefix: bytes
    filter_final: tuple[str, str] | None  # the filter's deciding (verifier, version), if the run filters

    @property
    def version(self) -> str:
        return str(self.rubric["version"])

    def sampling(self, json_object: bool) -> Sampling:
        s = self.settings
        return Sampling(temperature=s.temperature, max_tokens=s.max_tokens, seed=0, json_object=json_object)


def _rubric_dict(r: Rubric) -> dict[str, Any]:
    return {
        "version": r.version,
        "template": r.template,
        "scale": r.scale,
        "lo": r.scale_min,
        "hi": r.scale_max,
    }


def build_job(s: Session, chunk: StageChunk, stage: RunStage, run: Run) -> JudgeJob:
    settings = settings_for("judge", run.recipe, JudgeSettings)
    teacher = s.get(Teacher, settings.teacher_id or run.teacher_id)
    if teacher is None:  # deleted since the stage was planned (runs.teacher_id is SET NULL)
        raise Invalid(f"judge.teacher_id: no teacher {settings.teacher_id or run.teacher_id} any more")
    fixed = stage.metrics or {}
    rubric = get_rubric(s, project_id=run.project_id, version=fixed.get("rubric_version"))
    head = {
        "project": run.project_id,
        "endpoint": endpoint_of(teacher),
        "model": teacher.model,
        "judge": {"temperature": settings.temperature, "max_tokens": settings.max_tokens},
    }
    return JudgeJob(
        stage_id=stage.id,
        chunk_id=chunk.id,
        run_id=run.id,
        prompt_set_id=run.prompt_set_id,
        first=chunk.first_position,
        last=chunk.last_position,
        settings=settings,
        rollout=settings_for("rollout", run.recipe, RolloutSettings),
        teacher=teacher_spec(teacher),
        quote=quote_for(s, teacher=teacher),
        rubric=_rubric_dict(rubric),
        thresholds=fixed["thresholds"],
        cache_prefix=orjson.dumps(head, option=orjson.OPT_SORT_KEYS),
        filter_final=final_of(settings_for("filter", run.recipe, FilterSettings).verifiers)
        if "filter" in run.recipe.get("stages", [])
        else None,
    )


def verdict_of(job: JudgeJob, c: Completion) -> dict[str, Any]:
    """The judge verdict a reply makes: passed at or above accept, wrong below reject, unsure between;
    a reply without a score is unparseable and a failed request an error, neither ever a pass."""
    if not c.ok:
        return {"status": "error", "passed": None, "score": None, "detail": {"error": c.error}}
    r = job.rubric
    reading = read_reply(c.content, scale=r["scale"], lo=r["lo"], hi=r["hi"])
    detail = {"rationale": reading.rationale, "parsed_as": reading.how, "thresholds": job.thresholds}
    if reading.score is None:
        return {"status": "unparseable", "passed": None, "score": None, "detail": detail}
    t = job.thresholds
    if reading.score >= t["accept"]:
        status, passed = "passed", True
    elif reading.score < t["reject"]:
        status, passed = "wrong", False
    else:
        status, passed = "unsure", None
    return {"status": status, "passed": passed, "score": reading.score, "detail": detail}
