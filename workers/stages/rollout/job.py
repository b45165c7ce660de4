"""What one rollout chunk task needs, read once when it claims the chunk."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from backend.core.errors import Invalid
from backend.prices.service import Quote, rollout_quote
from backend.prompts.models import Prompt
from backend.rollouts.metrics import split_filter
from backend.rollouts.requests import cache_prefix, native_budget, resolved
from backend.rollouts.schemas import RolloutSettings
from backend.rollouts.smoke import SMOKE_INDEX, sample_positions
from backend.runs.models import Run, RunStage, StageChunk
from backend.teachers.models import Teacher
from backend.teachers.routing import TeacherRoute, route_of
from backend.verifiers.filter import FilterSettings
from backend.verifiers.registry import VerifierCombo
from workers.runner import settings_for
from workers.teachers.base import Sampling
from workers.teachers.factory import TeacherSpec, teacher_spec
from workers.teachers.gpus import check_teacher_fits


def sampling_of(settings: RolloutSettings, teacher: TeacherSpec | None = None) -> Sampling:
    """The request's sampling; a reasoning budget travels as vLLM's thinking_token_budget where the
    teacher's server takes it (else resolved() already capped max_tokens with it)."""
    if settings.max_tokens is None:  # a chunk's settings are resolved() at its claim
        raise ValueError("sampling_of takes resolved settings: max_tokens is still auto")
    return Sampling(
        temperature=settings.temperature,
        top_p=settings.top_p,
        max_tokens=settings.max_tokens,
        seed=settings.seed,
        stop=tuple(settings.stop) if settings.stop else None,
        top_k=settings.top_k,
        min_p=settings.min_p,
        logprobs=settings.logprobs,
        thinking_token_budget=settings.reasoning_budget
        if teacher is not None and native_budget(teacher.backend, teacher.settings)
        else None,
    )


@dataclass(frozen=True)
class Routed:
    """One teacher a chunk asks: its settings resolved for it (max_tokens auto is its own context), its
    cache keys' prefix and its prices."""

    id: int
    teacher: TeacherSpec
    settings: RolloutSettings
    cache_prefix: bytes
    quote: Quote | None


@dataclass
class ChunkJob:
    stage_id: int
    chunk_id: int
    run_id: int
    project_id: int
    settings: RolloutSettings
    teacher: TeacherSpec
    cache_prefix: bytes
    quote: Quote | None
    first: int
    last: int
    prompt_set_id: int
    # set for adaptive sampling and the smoke sample: the filter stage's verifiers
    verifiers: VerifierCombo | None = None
    sample: tuple[int, ...] | None = None  # the smoke sample's chunk: its positions (rollouts/smoke.py)
    # rollout.teachers: the routes, every teacher they name (the run's teacher, the default, first) and
    # each prompt's teacher where a route took it (filled as the chunk reads its prompts)
    routes: list[TeacherRoute] = field(default_factory=list)
    teachers: dict[int, Routed] = field(default_factory=dict)
    prompt_teacher: dict[int, int] = field(default_factory=dict)

    @property
    def teacher_id(self) -> int:
        return next(iter(self.teachers))

    def route(self, prompt_id: int, meta: dict | None) -> Routed:
        """The prompt's teacher (routing.route_of over its metadata), remembered for its rows."""
        tid = route_of(self.routes, meta, self.teacher_id)
        if tid != self.teacher_id:
            self.prompt_teacher[prompt_id] = tid
        return self.teachers[tid]

    def teacher_of(self, prompt_id: int) -> Routed:
        return self.teachers[self.prompt_teacher.get(prompt_id, self.teacher_id)]

    @property
    def adaptive(self) -> bool:
        return _adaptive(self.settings)

    def prompts_where(self) -> tuple:
        """The chunk's prompts: its slice of positions (the sample's own, for its chunk), in the split."""
        span = Prompt.position.between(self.first, self.last)
        where = Prompt.position.in_(self.sample) if self.sample else span
        return (Prompt.prompt_set_id == self.prompt_set_id, where, split_filter(self.settings))


def build_job(s: Session, chunk: StageChunk, stage: RunStage, run: Run) -> ChunkJob:
    """The fan-out's build hook: everything the chunk's generation needs, read in the claim."""
    teacher = s.get(Teacher, run.teacher_id) if run.teacher_id else None
    if teacher is None:  # deleted since the stage was planned (runs.teacher_id is SET NULL)
        raise Invalid("the run's teacher no longer exists", code="teacher_missing")
    asked = settings_for("rollout", run.recipe, RolloutSettings)
    teachers = {teacher.id: _routed(s, run, teacher, asked)}
    for i, route in enumerate(asked.teachers):
        if route.teacher_id not in teachers:
            other = s.get(Teacher, route.teacher_id)
            if other is None or other.project_id != run.project_id:  # deleted since the run was made
                raise Invalid(
                    f"rollout.teachers[{i}].teacher_id: teacher {route.teacher_id} no longer exists",
                    code="teacher_missing",
                )
            teachers[other.id] = _routed(s, run, other, asked)
    default = teachers[teacher.id]
    settings = default.settings
    if settings.mode == "batch" and not (teacher.backend == "openai_compat" and teacher.base_url):
        raise Invalid(
            f"rollout.mode batch needs an openai_compat teacher whose provider serves /v1/batches; "
            f"{teacher.name!r} is {teacher.backend}",
            code="batch_needs_api_teacher",
        )
    return ChunkJob(
        stage_id=stage.id,
        chunk_id=chunk.id,
        run_id=run.id,
        project_id=run.project_id,
        settings=settings,
        teacher=default.teacher,
        cache_prefix=default.cache_prefix,
        quote=default.quote,
        first=chunk.first_position,
        last=chunk.last_position,
        prompt_set_id=run.prompt_set_id,
        verifiers=settings_for("filter", run.recipe, FilterSettings).verifiers
        if _adaptive(settings) or chunk.index == SMOKE_INDEX
        else None,
        sample=tuple(sample_positions(s, run=run, settings=settings)) if chunk.index == SMOKE_INDEX else None,
        routes=list(asked.teachers),
        teachers=teachers,
    )


def _routed(s: Session, run: Run, teacher: Teacher, asked: RolloutSettings) -> Routed:
    # a vllm teacher this worker starts must fit in its GPUs: refused here, before any model loads
    check_teacher_fits(teacher.backend, teacher.base_url, teacher.settings or {}, f"teacher {teacher.name!r}")
    settings = resolved(asked, teacher)  # max_tokens decided (auto) for this teacher
    return Routed(
        id=teacher.id,
        teacher=teacher_spec(teacher),
        settings=settings,
        cache_prefix=cache_prefix(project_id=run.project_id, teacher=teacher, settings=settings),
        quote=rollout_quote(s, teacher=teacher, settings=settings),
    )


def _adaptive(settings: RolloutSettings) -> bool:
    return settings.stop_when_verified is not None or settings.stop_after_failures is not None
