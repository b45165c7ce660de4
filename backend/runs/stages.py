"""The stage registry: every stage kind a recipe may name, with its whole contract in one entry.

An entry says what the stage takes (a typed settings model: the recipe's key of the same name), what
it reports (a typed summary model: the stage's metrics, carried by the OpenAPI schema and the
generated client), what must come before it, where it runs (queue, task name, time limit) and which
worker module defines its task. Adding a stage is one entry here and one module under
workers/stages/. Kept free of worker imports so the api validates recipes without the ML stack;
the worker imports `module` (workers/celery_app.py) and a test checks both sides agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, TypeAdapter

from backend.datasets.schemas import SnapshotSettings, SnapshotSummary, check_best_of_n
from backend.datasets.score import ScoreSettings, ScoreSummary, check_score, check_score_references
from backend.evals.benchmark_schemas import BenchmarkSettings, BenchmarkSummary, check_benchmark
from backend.evals.benchmarks import check_benchmark_references
from backend.evals.checkpoints import check_checkpoints
from backend.evals.schemas import EvalSettings, EvalSummary
from backend.evals.service import check_eval_references
from backend.judge.schemas import JudgeSettings, JudgeSummary
from backend.judge.service import check_judge_references
from backend.prompts.profile import ProfileSettings, ProfileSummary
from backend.reviews.schemas import ReviewSettings, ReviewSummary
from backend.rollouts.schemas import RolloutSettings, RolloutSummary, check_rollout
from backend.teachers.schemas import runs_locally
from backend.training.schemas import TrainSettings, TrainSummary, check_train
from backend.training.service import check_train_references
from backend.verifiers.filter import FilterSettings, FilterSummary


@dataclass(frozen=True)
class StageKind:
    name: str
    help: str
    # the recipe's `name` key; the stage receives it validated. A model, or an Annotated union of models
    # told apart by a discriminator (train: one per method); validate and describe it through the methods
    # below, which take both
    settings: Any
    summary: type[BaseModel]  # the stage's metrics, as stored on the stage and in the run's summary
    module: str  # the worker module whose import registers the task(s)
    queue: str = "cpu"  # where the stage task runs; a fan-out stage may send its chunks elsewhere
    requires: tuple[str, ...] = ()  # stages that must come earlier in the same recipe
    needs_teacher: bool = False  # the recipe must name teacher_id
    fanout: bool = False  # cut into chunks, each a task of its own (workers/fanout.py)
    time_limit_s: int | None = None  # per task; None: DISTILLERY_TASK_SOFT_TIME_LIMIT
    # it waits for people, not a worker, once started: no heartbeat is expected, nothing re-queues it,
    # and a cancel ends it at once (lifecycle.cancel_run), since no worker is there to see the cancel
    waits_for_people: bool = False
    # (session, run) -> the queue of its chunk tasks where not `queue` (rollout: its teacher's), read
    # by the dispatch and by the janitor's re-send of chunks a broker lost
    chunk_queue: Callable[[Any, Any], str] | None = None
    # (session, run id) -> None: closes what the stage holds open for people (the review queue's
    # slots) when it ends without succeeding, so nobody goes on working for a cancelled or failed run
    release: Callable[[Any, int], None] | None = None
    # rules that span stages: the validated recipe -> messages naming the field ("rollout.x: ...")
    recipe_check: Callable[[Any], list[str]] | None = None
    # checks against the database when a run is created (session, project, recipe) -> None, raising
    # AppError (a 404 for a reference to another project, a 422 for what the stage cannot use)
    create_check: Callable[[Any, Any, Any], None] | None = None

    @property
    def adapter(self) -> TypeAdapter:
        return _adapter(self.name, self.settings)

    def validate_settings(self, data: Any) -> BaseModel:
        """The recipe's key validated (a ValidationError with the fields' paths under the key)."""
        return self.adapter.validate_python(data)

    def default_settings(self) -> BaseModel:
        return self.validate_settings({})

    def settings_schema(self) -> dict[str, Any]:
        """The settings' JSON Schema (a union's is a oneOf with a discriminator)."""
        return self.adapter.json_schema()

    @property
    def task(self) -> str:
        return f"distillery.stage.{self.name}"

    @property
    def chunk_task(self) -> str | None:
        return f"distillery.stage.{self.name}.chunk" if self.fanout else None

    @property
    def tasks(self) -> list[str]:
        return [self.task] + ([self.chunk_task] if self.chunk_task else [])


_ADAPTERS: dict[str, TypeAdapter] = {}


def _adapter(name: str, settings: Any) -> TypeAdapter:
    # built once per kind: a TypeAdapter compiles its validator, and recipes are validated per request
    if name not in _ADAPTERS:
        _ADAPTERS[name] = TypeAdapter(settings)
    return _ADAPTERS[name]


def teacher_queue(session: Any, run: Any) -> str:
    """Where a rollout's chunks run: gpu for a teacher that generates on the worker, cpu for an endpoint."""
    from backend.teachers.models import Teacher
    from backend.teachers.routing import TeacherRoute, teacher_ids

    asked = ((run.recipe or {}).get("rollout") or {}).get("teachers") or []
    routes = [TeacherRoute.model_validate(r) for r in asked]
    # one chunk task asks every routed teacher: gpu where any of them generates on the worker
    teachers = [session.get(Teacher, t) for t in teacher_ids(routes, run.teacher_id)]
    local = any(t is not None and runs_locally(t.backend, t.base_url) for t in teachers)
    return "gpu" if local else "cpu"


def check_rollout_references(session: Any, project: Any, recipe: Any) -> None:
    """rollout.teachers: each route's teacher must be one of the project's (another's is a 404)."""
    from backend.teachers.routing import check_routes

    routes = recipe.settings_of("rollout", RolloutSettings).teachers
    check_routes(session, project, routes, "rollout.teachers")


def close_review_queue(session: Any, run_id: int) -> None:
    from backend.reviews.queue import close_slots  # here, not at the top: backend.reviews imports lifecycle

    close_slots(session, run_id=run_id)


def check_review(recipe: Any) -> list[str]:
    """The queue is filled from verdicts: a filter or a judge stage must come before review."""
    stages = recipe.stages
    before = stages[: stages.index("review")]
    return [] if {"filter", "judge"} & set(before) else ["stages: review needs filter or judge earlier"]


STAGES: dict[str, StageKind] = {
    s.name: s
    for s in [
        StageKind(
            name="profile",
            help="Prompt count and length percentiles, stored on the run.",
            settings=ProfileSettings,
            summary=ProfileSummary,
            module="workers.stages.profile",
            time_limit_s=3600,
        ),
        StageKind(
            name="rollout",
            help="The teacher writes n attempts per prompt; chunks run as tasks on the cpu queue (API "
            "teachers) or the gpu queue (vllm, transformers_local).",
            settings=RolloutSettings,
            summary=RolloutSummary,
            module="workers.stages.rollout",
            needs_teacher=True,
            fanout=True,
            chunk_queue=teacher_queue,
            recipe_check=check_rollout,
            create_check=check_rollout_references,
        ),
        StageKind(
            name="filter",
            help="Every attempt goes through the recipe's verifiers (math, code, format, exact, regex, json; "
            "all/any); verdicts are stored per attempt with per-verifier acceptance and per-prompt pass "
            "rates.",
            settings=FilterSettings,
            summary=FilterSummary,
            module="workers.stages.filter",
            requires=("rollout",),
            fanout=True,
        ),
        StageKind(
            name="judge",
            help="An LLM judge scores every attempt against the project's rubric (a teacher endpoint; JSON "
            "where supported, a robust parse otherwise); verdicts are stored per attempt with score and "
            "rationale, replies cached, cost tracked. Thresholds: the recipe's, calibrated, or the rubric's.",
            settings=JudgeSettings,
            summary=JudgeSummary,
            module="workers.stages.judge",
            requires=("rollout",),
            fanout=True,
            create_check=check_judge_references,
        ),
        StageKind(
            name="review",
            help="Doubtful attempts (verifier/judge disagreements first, judge rejects and unsure ones, "
            "unparseable references, a seeded share of accepted ones) go to the run's human review queue; "
            "the stage completes from the API once the queue is drained or a maintainer closes it.",
            settings=ReviewSettings,
            summary=ReviewSummary,
            module="workers.stages.review",
            requires=("rollout",),
            recipe_check=check_review,
            waits_for_people=True,
            release=close_review_queue,
        ),
        StageKind(
            name="snapshot",
            help="The accepted attempts, selected by the policy (pass-rate band, near duplicates, k per "
            "prompt), written once as an immutable, content-hashed dataset: Parquet and JSONL for TRL, "
            "preference pairs, and a dataset card.",
            settings=SnapshotSettings,
            summary=SnapshotSummary,
            module="workers.stages.snapshot",
            requires=("filter",),
            time_limit_s=6 * 3600,
            recipe_check=check_best_of_n,
        ),
        StageKind(
            name="score",
            help="A vLLM teacher's top-K log-probabilities over every kept trace of an existing snapshot "
            "(prompt logprobs of the chat-templated conversation), written beside it as its teacher "
            "logprob cache (teacher_logprobs.parquet) for logit distillation.",
            settings=ScoreSettings,
            summary=ScoreSummary,
            module="workers.stages.score",
            queue="gpu",
            needs_teacher=True,
            time_limit_s=12 * 3600,
            recipe_check=check_score,
            create_check=check_score_references,
        ),
        StageKind(
            name="train",
            help="The student is trained with TRL on the snapshot (SFT full or LoRA, DPO on its pairs, GRPO "
            "with the verifiers as rewards, on-policy distillation from a local teacher) after pre-flight "
            "checks; checkpoints resume a re-queued run; the model is saved with its card and lineage.",
            settings=TrainSettings,
            summary=TrainSummary,
            module="workers.stages.train",
            queue="gpu",
            # a snapshot stage earlier in the recipe, or train.snapshot_id: check_train says which
            requires=(),
            time_limit_s=72 * 3600,
            recipe_check=check_train,
            create_check=check_train_references,
        ),
        StageKind(
            name="evaluate",
            help="The base student, the trained student(s) and the teacher answer the held-out prompts (k "
            "samples; greedy for k = 1); the same verifiers score them: pass@1 with a bootstrap interval, "
            "pass@k, maj@k, output length, truncation, and the comparison. A run of its own or the last "
            "stage of a training run.",
            settings=EvalSettings,
            summary=EvalSummary,
            module="workers.stages.evaluate",
            queue="gpu",
            time_limit_s=12 * 3600,
            recipe_check=check_checkpoints,
            create_check=check_eval_references,
        ),
        StageKind(
            name="benchmark",
            help="Standard benchmarks through lm-evaluation-harness: the base student, the trained student, "
            "the teacher or a served endpoint run the task suites of local folders (task YAMLs and their "
            "data; no hub), think tokens stripped before scoring; lm-eval's scores per task are stored "
            "beside the in-task evaluation, hashed with the task files and lm-eval's version.",
            settings=BenchmarkSettings,
            summary=BenchmarkSummary,
            module="workers.stages.benchmark",
            queue="gpu",
            time_limit_s=24 * 3600,
            recipe_check=check_benchmark,
            create_check=check_benchmark_references,
        ),
    ]
}


def stage_kind(name: str) -> StageKind:
    """The registry entry for a kind; unknown names fail loudly with the known ones."""
    try:
        return STAGES[name]
    except KeyError:
        raise KeyError(f"unknown stage kind {name!r}; known: {sorted(STAGES)}") from None
