from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from backend.api.deps import Maintainer, SessionDep, Viewer
from backend.core.pagination import Page
from backend.runs import service
from backend.runs.models import Run, Status
from backend.runs.schemas import RunCreate, RunDetail, RunOut, StageOut
from backend.runs.stages import STAGES

router = APIRouter(prefix="/projects/{project_id}", tags=["runs"])
RunId = Annotated[int, Path(ge=1)]


def _detail(session, run: Run) -> RunDetail:
    stages = [StageOut.model_validate(s) for s in service.stages_of(session, run=run)]
    return RunDetail(**RunOut.model_validate(run).model_dump(), stages=stages)


@router.get("/runs", operation_id="listRuns")
def list_runs(
    session: SessionDep,
    access: Viewer,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
    status: Status | None = None,
) -> Page[RunOut]:
    """Runs, newest first, a page at a time (pass next_cursor back as cursor)."""
    rows, nxt = service.list_runs(session, project=access.project, limit=limit, cursor=cursor, status=status)
    return Page[RunOut](items=[RunOut.model_validate(r) for r in rows], next_cursor=nxt)


@router.post("/runs", operation_id="createRun", status_code=status.HTTP_202_ACCEPTED)
def create_run(session: SessionDep, access: Maintainer, body: RunCreate) -> RunDetail:
    """Create a run from a recipe and queue its first stage; poll the run for its stages' progress."""
    run = service.create_run(session, project=access.project, user=access.user, data=body)
    service.enqueue_next_stage(session, run=run)
    return _detail(session, run)


@router.get("/runs/{run_id}", operation_id="getRun")
def get_run(session: SessionDep, access: Viewer, run_id: RunId) -> RunDetail:
    return _detail(session, service.get_run(session, project=access.project, run_id=run_id))


@router.get("/runs/{run_id}/stages", operation_id="listRunStages")
def list_stages(session: SessionDep, access: Viewer, run_id: RunId) -> list[StageOut]:
    run = service.get_run(session, project=access.project, run_id=run_id)
    return [StageOut.model_validate(s) for s in service.stages_of(session, run=run)]


@router.post("/runs/{run_id}/cancel", operation_id="cancelRun", status_code=status.HTTP_202_ACCEPTED)
def cancel_run(session: SessionDep, access: Maintainer, run_id: RunId) -> RunDetail:
    """Stop a run: queued stages never start, a running one stops at its next progress check."""
    run = service.cancel_run(session, run=service.get_run(session, project=access.project, run_id=run_id))
    return _detail(session, run)


@router.get("/stage-kinds", operation_id="listStageKinds")
def stage_kinds(access: Viewer) -> list[dict[str, str]]:
    """The stages a recipe may name."""
    return [{"name": k.name, "queue": k.queue, "help": k.help} for k in STAGES.values()]
