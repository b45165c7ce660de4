"""Rubric versions, the judge's calibration report, and imported human labels."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Path, Query, UploadFile, status

from backend.api.deps import Maintainer, SessionDep, Viewer
from backend.core.errors import TooLarge
from backend.judge import labels, service
from backend.judge.calibration import agreement, calibrate
from backend.judge.schemas import CalibrationOut, LabelBasis, RubricIn, RubricOut

router = APIRouter(prefix="/projects/{project_id}", tags=["judge"])
Version = Annotated[int, Path(ge=1, le=2**31 - 1)]
MAX_LABEL_BYTES = 64 << 20


@router.post("/rubrics", operation_id="createRubric", status_code=status.HTTP_201_CREATED)
def create_rubric(session: SessionDep, access: Maintainer, body: RubricIn) -> RubricOut:
    """A new version of the project's rubric (versions are never changed in place)."""
    return RubricOut.model_validate(
        service.create_rubric(session, project=access.project, user=access.user, body=body)
    )


@router.get("/rubrics", operation_id="listRubrics")
def list_rubrics(session: SessionDep, access: Viewer) -> list[RubricOut]:
    """Every version, newest first."""
    return [RubricOut.model_validate(r) for r in service.list_rubrics(session, project=access.project)]


@router.get("/rubrics/{version}", operation_id="getRubric")
def get_rubric(session: SessionDep, access: Viewer, version: Version) -> RubricOut:
    return RubricOut.model_validate(
        service.get_rubric(session, project_id=access.project.id, version=version)
    )


@router.get("/rubrics/{version}/calibration", operation_id="getCalibration")
def calibration(
    session: SessionDep,
    access: Viewer,
    version: Version,
    target_precision: Annotated[float, Query(gt=0, le=1, allow_inf_nan=False)] = 0.95,
    seed: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> CalibrationOut:
    """This judge version against the project's human labels: accuracy, Cohen's kappa, precision and
    recall of accept with bootstrap 95% intervals, the confusion table, and the thresholds that reach
    the target precision with their coverage, and the precision/recall/coverage curve over thresholds;
    too few labels says so. The figures rest on randomly drawn labels only (the review's audit sample,
    imports); labels of attempts the router picked are counted in `basis` and measured apart in
    `picked`, never in the headline."""
    rubric = service.get_rubric(session, project_id=access.project.id, version=version)
    found = labels.pairs_for(session, rubric=rubric)
    return CalibrationOut(
        rubric_version=rubric.version,
        **calibrate(found.pairs, pass_score=rubric.pass_score, target=target_precision, seed=seed),
        basis=LabelBasis(
            random=len(found.pairs),
            picked=len(found.picked),
            by_reason=found.by_reason,
            text=labels.basis_text(found.by_reason),
        ),
        picked=agreement(found.picked, rubric.pass_score, seed=seed) if found.picked else None,
    )


@router.post("/labels/import", operation_id="importLabels")
def import_labels(
    session: SessionDep,
    access: Maintainer,
    file: Annotated[
        UploadFile, File(description="JSONL or CSV with generation_id and label (accept/reject)")
    ],
) -> dict[str, int]:
    """Human accept/reject labels by generation id, for calibration; a later import replaces yours."""
    data = file.file.read(MAX_LABEL_BYTES + 1)
    if len(data) > MAX_LABEL_BYTES:
        raise TooLarge(f"a label file may hold at most {MAX_LABEL_BYTES >> 20} MiB")
    rows = labels.parse_labels(data, file.filename or "labels.jsonl")
    n = labels.import_labels(session, project_id=access.project.id, user_id=access.user.id, rows=rows)
    return {"imported": n}
