"""Experiments: runs compared on one evaluation set (scores with intervals, cost, cost per point gained
over the base student), and the pressure test (does the teacher materially beat the student?)."""

from __future__ import annotations

from fastapi import APIRouter, status

from backend.api.deps import Maintainer, SessionDep, Viewer
from backend.core.ids import PathId
from backend.experiments import pressure, service
from backend.experiments.schemas import ExperimentCreate, ExperimentDetail, ExperimentOut, PressureTestCreate
from backend.runs import lifecycle

router = APIRouter(prefix="/projects/{project_id}", tags=["experiments"])


@router.get("/experiments", operation_id="listExperiments")
def list_experiments(session: SessionDep, access: Viewer) -> list[ExperimentOut]:
    """The project's experiments and pressure tests, oldest first."""
    return [
        ExperimentOut.model_validate(e) for e in service.list_experiments(session, project=access.project)
    ]


@router.post("/experiments", operation_id="createExperiment", status_code=status.HTTP_201_CREATED)
def create_experiment(session: SessionDep, access: Maintainer, body: ExperimentCreate) -> ExperimentDetail:
    """Group runs of one prompt set and evaluation set; the settings that differ between their recipes
    are the factors. 422 names a run without an evaluate stage or evaluated on other prompts."""
    exp = service.create_experiment(session, project=access.project, user=access.user, data=body)
    return service.detail(session, exp)


@router.post("/experiments/derive", operation_id="deriveExperiments")
def derive_experiments(session: SessionDep, access: Maintainer) -> list[ExperimentOut]:
    """One experiment per prompt set and evaluation set that two or more runs share (brought up to date
    where it exists)."""
    return [ExperimentOut.model_validate(e) for e in service.derive(session, project=access.project)]


@router.get("/experiments/{experiment_id}", operation_id="getExperiment")
def get_experiment(session: SessionDep, access: Viewer, experiment_id: PathId) -> ExperimentDetail:
    """The table: per run its factors, scores with 95% intervals, cost and cost per point gained; a
    pressure test's verdict."""
    exp = service.get_experiment(session, project=access.project, experiment_id=experiment_id)
    return service.detail(session, exp)


@router.delete("/experiments/{experiment_id}", operation_id="deleteExperiment",
               status_code=status.HTTP_204_NO_CONTENT)  # fmt: skip
def delete_experiment(session: SessionDep, access: Maintainer, experiment_id: PathId) -> None:
    """The experiment only: its runs stay."""
    session.delete(service.get_experiment(session, project=access.project, experiment_id=experiment_id))


@router.post("/pressure-tests", operation_id="createPressureTest", status_code=status.HTTP_202_ACCEPTED)
def create_pressure_test(
    session: SessionDep, access: Maintainer, body: PressureTestCreate
) -> ExperimentDetail:
    """Evaluate the base student and the teacher on a sample of held-out prompts (an evaluate-only run);
    GET .../experiments/{id} gives the verdict once the run succeeded."""
    exp, run = pressure.create_pressure_test(session, project=access.project, user=access.user, data=body)
    out = service.detail(session, exp)
    session.expire_on_commit = False
    lifecycle.enqueue_next_stage(session, run=run)
    return out
