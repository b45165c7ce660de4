from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, status
from fastapi.responses import PlainTextResponse, Response, StreamingResponse

from backend.api.deps import Maintainer, SessionDep, Viewer
from backend.api.hot_lists import generations_body, runs_body
from backend.api.json_body import json_response
from backend.core.errors import Invalid
from backend.core.ids import BigPathId, PathId
from backend.core.pagination import Page
from backend.datasets import export
from backend.judge.schemas import JudgeSettings
from backend.prompts.models import Prompt
from backend.prompts.service import get_prompt_set
from backend.reviews.load import judge_calibrated, review_load
from backend.reviews.schemas import ReviewSettings
from backend.rollouts import smoke
from backend.rollouts.estimate import estimate, estimate_routed
from backend.rollouts.schemas import RolloutEstimate, RolloutSettings, SmokeDecision
from backend.runs import lifecycle, service
from backend.runs.models import Run, Status
from backend.runs.schemas import (
    EstimateIn,
    RunCreate,
    RunDetail,
    RunListItem,
    RunOut,
    StageKindOut,
    StageOut,
    StageResume,
    VerifierKindOut,
    stage_out,
)
from backend.runs.stages import STAGES
from backend.samples import service as samples
from backend.samples.schemas import (
    GenerationDetail,
    GenerationOut,
    GenerationPage,
    PromptView,
    VerdictOut,
)
from backend.samples.service import Filters, verdicts_of
from backend.teachers.routing import check_routes
from backend.teachers.service import get_teacher
from backend.verifiers.registry import VERIFIERS

router = APIRouter(prefix="/projects/{project_id}", tags=["runs"])
RunId = PathId


def _detail(session, run: Run) -> RunDetail:
    stages = [stage_out(s) for s in service.stages_of(session, run=run)]
    return RunDetail(**RunOut.model_validate(run).model_dump(), stages=stages)


@router.get("/runs", operation_id="listRuns", response_model=Page[RunListItem])
def list_runs(
    session: SessionDep,
    access: Viewer,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
    status: Status | None = None,
) -> Response:
    """Runs, newest first, a page at a time (pass next_cursor back as cursor). Each item is the run's
    list view; GET .../runs/{run_id} has its recipe, summary and error."""
    return json_response(runs_body(session, access.project.id, limit=limit, cursor=cursor, status=status))


@router.post("/runs", operation_id="createRun", status_code=status.HTTP_202_ACCEPTED)
def create_run(session: SessionDep, access: Maintainer, body: RunCreate) -> RunDetail:
    """Create a run from a recipe and queue its first stage; poll the run for its stages' progress."""
    run = service.create_run(session, project=access.project, user=access.user, data=body)
    stages = service.stages_of(session, run=run)
    # The answer says what this request did (queued), not what a fast worker did since its commit.
    session.expire_on_commit = False
    lifecycle.enqueue_next_stage(session, run=run)
    return RunDetail(**RunOut.model_validate(run).model_dump(), stages=[stage_out(s) for s in stages])


@router.get("/runs/{run_id}", operation_id="getRun")
def get_run(session: SessionDep, access: Viewer, run_id: RunId) -> RunDetail:
    return _detail(session, service.get_run(session, project=access.project, run_id=run_id))


@router.get("/runs/{run_id}/stages", operation_id="listRunStages")
def list_stages(session: SessionDep, access: Viewer, run_id: RunId) -> list[StageOut]:
    run = service.get_run(session, project=access.project, run_id=run_id)
    return [stage_out(s) for s in service.stages_of(session, run=run)]


@router.post("/runs/{run_id}/cancel", operation_id="cancelRun", status_code=status.HTTP_202_ACCEPTED)
def cancel_run(session: SessionDep, access: Maintainer, run_id: RunId) -> RunDetail:
    """Stop a run: queued stages never start, a running one stops at its next progress check."""
    run = lifecycle.cancel_run(session, run=service.get_run(session, project=access.project, run_id=run_id))
    return _detail(session, run)


@router.post("/runs/{run_id}/requeue", operation_id="requeueRun", status_code=status.HTTP_202_ACCEPTED)
def requeue_run(session: SessionDep, access: Maintainer, run_id: RunId) -> RunDetail:
    """Send a failed, cancelled or stalled run back to the queue; only missing generations are made."""
    run = lifecycle.requeue_run(session, run=service.get_run(session, project=access.project, run_id=run_id))
    lifecycle.enqueue_next_stage(session, run=run)
    return _detail(session, run)


@router.post("/runs/{run_id}/smoke", operation_id="decideSmoke", status_code=status.HTTP_202_ACCEPTED)
def decide_smoke(session: SessionDep, access: Maintainer, run_id: RunId, body: SmokeDecision) -> RunDetail:
    """Decide on a smoke sample below its floor (rollout.smoke): continue asks the teacher for the
    remaining prompts (the sample's attempts are kept), cancel cancels the run. 409 when the run waits
    for no such decision."""
    run = smoke.decide(session, run=service.get_run(session, project=access.project, run_id=run_id),
                       decision=body.decision)  # fmt: skip
    return _detail(session, run)


@router.post(
    "/runs/{run_id}/stages/{stage_id}/resume",
    operation_id="resumeRunStage",
    status_code=status.HTTP_202_ACCEPTED,
)
def resume_stage(
    session: SessionDep, access: Maintainer, run_id: RunId, stage_id: PathId, body: StageResume
) -> RunDetail:
    """Edit a failed or cancelled stage's settings and send the run back to the queue from that stage:
    stages that succeeded keep their results. 409 while the run is not failed or cancelled; a bad setting
    is a 422 naming it (body.settings.<field>) and changes nothing."""
    run = service.get_run(session, project=access.project, run_id=run_id)
    run = service.resume_stage(
        session, project=access.project, user=access.user, run=run, stage_id=stage_id, settings=body.settings
    )
    lifecycle.enqueue_next_stage(session, run=run)
    return _detail(session, run)


@router.post("/runs/estimate", operation_id="estimateRollout")
def estimate_rollout(session: SessionDep, access: Viewer, body: EstimateIn) -> RolloutEstimate:
    """Tokens, cost and time a recipe's rollout would take, before launching it; with a review stage,
    the review load per reason (`review`). The body is what POST .../runs takes ({name, recipe}; name
    optional); a bare recipe is still read (deprecated)."""
    recipe = body.recipe
    if recipe.teacher_id is None:
        raise Invalid(
            "an estimate needs teacher_id",
            fields=[{"path": "body.recipe.teacher_id", "message": "required", "type": "missing"}],
        )
    pset = get_prompt_set(session, project=access.project, prompt_set_id=recipe.prompt_set_id)
    teacher = get_teacher(session, project=access.project, teacher_id=recipe.teacher_id)
    settings = recipe.settings_of("rollout", RolloutSettings)
    if settings.teachers:  # routed: each teacher's share (another project's teacher is a 404 naming it)
        routed = check_routes(session, access.project, settings.teachers, "rollout.teachers")
        teachers = [teacher, *{t.id: t for t in routed if t.id != teacher.id}.values()]
        out = estimate_routed(
            session, project_id=access.project.id, prompt_set=pset, teachers=teachers, settings=settings
        )
    else:
        out = estimate(
            session, project_id=access.project.id, prompt_set=pset, teacher=teacher, settings=settings
        )
    if "review" in recipe.stages:
        judge = recipe.settings_of("judge", JudgeSettings) if "judge" in recipe.stages else None
        calibrated = judge_calibrated(session, project_id=access.project.id, judge=judge)
        out.review = review_load(
            recipe.settings_of("review", ReviewSettings), attempts=out.attempts, calibrated=calibrated
        )
    return out


VerifierName = Annotated[
    str | None,
    Query(
        pattern=r"^[A-Za-z0-9_.:-]{1,64}$", description="Only attempts this verifier (or all / any) judged."
    ),
]
Score = Annotated[float | None, Query(allow_inf_nan=False, description="The judge's score, inclusive.")]


@router.get("/runs/{run_id}/generations", operation_id="listGenerations", response_model=GenerationPage)
def list_generations(
    session: SessionDep,
    access: Viewer,
    run_id: RunId,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    last: Annotated[bool, Query(description="The run's last page (ignored with a cursor).")] = False,
    status: Annotated[str | None, Query(pattern="^(ok|failed)$")] = None,
    accepted: Annotated[bool | None, Query(description="Only attempts the filter accepted (or not).")] = None,
    verdict: Annotated[
        Literal["accepted", "rejected", "unverified"] | None,
        Query(description="The run's decision on the attempt; unverified: none yet, or undecided."),
    ] = None,
    verifier: VerifierName = None,
    verifier_result: Annotated[
        Literal["pass", "fail", "undecided"] | None,
        Query(description="That verifier's result (needs verifier)."),
    ] = None,
    score_min: Score = None,
    score_max: Score = None,
    q: Annotated[
        str | None, Query(min_length=3, max_length=200, description="Prompt text contains this (any case).")
    ] = None,
    finish_reason: Annotated[str | None, Query(pattern=r"^[a-z_]{1,32}$")] = None,
    reasoning: Annotated[
        bool, Query(description="Include each attempt's reasoning (false for lists: it runs to 100k chars).")
    ] = True,
) -> Response:
    """A run's generations in id order, a page at a time, filtered as the sample browser asks. Pass
    next_cursor or prev_cursor back as cursor for the page after or before; last=true for the last page."""
    filters = Filters(
        status=status,
        accepted=accepted,
        verdict=verdict,
        verifier=verifier,
        verifier_result=verifier_result,
        score_min=score_min,
        score_max=score_max,
        q=q,
        finish_reason=finish_reason,
    )
    run = service.get_run_ref(session, project=access.project, run_id=run_id)
    body = generations_body(
        session,
        run,
        filters=filters,
        limit=limit,
        cursor=cursor,
        last=last,
        reasoning=reasoning,
    )
    return json_response(body)


@router.get("/runs/{run_id}/generations/{generation_id}", operation_id="getGeneration")
def get_generation(
    session: SessionDep, access: Viewer, run_id: RunId, generation_id: BigPathId
) -> GenerationDetail:
    """One attempt for the trace view: its text, its prompt and reference, and every verdict on it."""
    run = service.get_run(session, project=access.project, run_id=run_id)
    g = samples.get_generation(session, run=run, generation_id=generation_id)
    prompt = session.get(Prompt, g.prompt_id)
    return GenerationDetail(
        generation=_generation(g),
        prompt=PromptView.model_validate(prompt) if prompt is not None else None,
        verdicts=[VerdictOut.model_validate(v) for v in verdicts_of(session, run=run, generation_id=g.id)],
    )


@router.get("/runs/{run_id}/generations/{generation_id}/verdicts", operation_id="listVerdicts")
def list_verdicts(
    session: SessionDep,
    access: Viewer,
    run_id: RunId,
    generation_id: BigPathId,
) -> list[VerdictOut]:
    """Each verifier's verdict on one attempt (and the combination's, named all or any)."""
    run = service.get_run(session, project=access.project, run_id=run_id)
    return [VerdictOut.model_validate(v) for v in verdicts_of(session, run=run, generation_id=generation_id)]


def _generation(g, *, reasoning: bool = True) -> GenerationOut:
    skip = {"truncated"} if reasoning else {"truncated", "reasoning"}
    fields = {c: getattr(g, c) for c in GenerationOut.model_fields if c not in skip}
    fields.setdefault("reasoning", None)
    return GenerationOut(**fields, truncated=g.finish_reason == "length")


@router.get("/runs/{run_id}/card", operation_id="getDatasetCard", response_class=PlainTextResponse)
def dataset_card(session: SessionDep, access: Viewer, run_id: RunId) -> str:
    """The run's dataset card (markdown), with the teacher's licence warning where there is one."""
    run = service.get_run(session, project=access.project, run_id=run_id)
    return export.dataset_card(session, run=run)


@router.get(
    "/runs/{run_id}/export",
    operation_id="exportGenerations",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}}, "description": "One generation per line."}},
)
def export_generations(
    session: SessionDep, access: Maintainer, run_id: RunId, acknowledge_terms: bool = False
) -> StreamingResponse:
    """The run's successful generations as JSONL, for redistribution. A teacher whose terms forbid
    training competing models needs acknowledge_terms=true (403 terms_not_acknowledged otherwise)."""
    run = service.get_run(session, project=access.project, run_id=run_id)
    export.check_export(run=run, acknowledge_terms=acknowledge_terms)
    return StreamingResponse(
        export.export_jsonl(run_id=run.id),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="run-{run.id}-generations.jsonl"'},
    )


@router.get("/stage-kinds", operation_id="listStageKinds")
def stage_kinds(access: Viewer) -> list[StageKindOut]:
    """The stages a recipe may name, with what each needs and the JSON Schema of its settings."""
    return [
        StageKindOut(
            name=k.name,
            queue=k.queue,
            help=k.help,
            requires=list(k.requires),
            needs_teacher=k.needs_teacher,
            settings_schema=k.settings_schema(),
        )
        for k in STAGES.values()
    ]


@router.get("/verifier-kinds", operation_id="listVerifierKinds")
def verifier_kinds(access: Viewer) -> list[VerifierKindOut]:
    """The verifier registry: what a recipe's filter may name, and the JSON Schema of each one's settings."""
    return [
        VerifierKindOut(
            name=k.name, version=k.version, help=k.help, settings_schema=k.settings.model_json_schema()
        )
        for k in VERIFIERS.values()
    ]
