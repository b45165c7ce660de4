from __future__ import annotations

import json
import tempfile
from pathlib import Path as FsPath
from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Query, UploadFile, status
from pydantic import ValidationError
from sqlalchemy import select

from backend.api.deps import Maintainer, SessionDep, Viewer
from backend.core.config import get_settings
from backend.core.errors import Invalid, TooLarge
from backend.core.pagination import Page, keyset
from backend.jobs.schemas import JobOut
from backend.jobs.service import submit_job
from backend.prompts import service
from backend.prompts.models import Prompt
from backend.prompts.schemas import ColumnMapping, PromptOut, PromptSetOut

router = APIRouter(prefix="/projects/{project_id}/prompt-sets", tags=["prompt-sets"])
PromptSetId = Annotated[int, Path(ge=1)]
CHUNK = 1 << 20


def _save_upload(upload: UploadFile, dest_dir: FsPath) -> FsPath:
    """Copy the upload to disk a chunk at a time; 413 as soon as it passes the size limit."""
    limit = get_settings().max_upload_mb * (1 << 20)
    dest_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=dest_dir, suffix=".upload")
    path = FsPath(name)
    written = 0
    with open(fd, "wb") as out:
        while chunk := upload.file.read(CHUNK):
            written += len(chunk)
            if written > limit:
                out.close()
                path.unlink(missing_ok=True)
                raise TooLarge(
                    f"file is over the {get_settings().max_upload_mb} MiB limit; nothing was stored"
                )
            out.write(chunk)
    return path


def _parse_mapping(raw: str | None) -> ColumnMapping | None:
    if not raw:
        return None
    try:
        return ColumnMapping.model_validate(json.loads(raw))
    except (json.JSONDecodeError, ValidationError) as exc:
        raise Invalid(
            f"mapping is not a valid column mapping: {exc}",
            fields=[{"path": "body.mapping", "message": str(exc)[:500], "type": "value_error"}],
        ) from exc


@router.get("", operation_id="listPromptSets")
def list_prompt_sets(session: SessionDep, access: Viewer) -> list[PromptSetOut]:
    return [PromptSetOut.model_validate(p) for p in service.list_prompt_sets(session, project=access.project)]


@router.post("", operation_id="importPromptSet", status_code=status.HTTP_202_ACCEPTED)
def import_prompt_set(
    session: SessionDep,
    access: Maintainer,
    file: Annotated[
        UploadFile, File(description="JSONL, CSV, Parquet, or a zip/tar of a save_to_disk folder")
    ],
    name: Annotated[str, Form(min_length=1, max_length=200)],
    skip_invalid: Annotated[bool, Form()] = False,
    mapping: Annotated[str | None, Form(description="JSON ColumnMapping")] = None,
) -> JobOut:
    """Import a file as a new version of a prompt set, as a job: poll it for progress and the report.

    Atomic unless skip_invalid: one bad row and nothing is stored; the job's error names every bad row
    (the first 200, and a count per reason).
    """
    cols = _parse_mapping(mapping)
    path = _save_upload(file, get_settings().uploads_dir)
    params = {
        "path": str(path.resolve()),
        "filename": file.filename or "upload",
        "name": name,
        "mapping": cols.model_dump() if cols else None,
        "skip_invalid": skip_invalid,
    }
    job = submit_job(
        session, project=access.project, kind="prompt_import", params=params, user_id=access.user.id
    )
    return JobOut.model_validate(job)


@router.get("/{prompt_set_id}", operation_id="getPromptSet")
def get_prompt_set(session: SessionDep, access: Viewer, prompt_set_id: PromptSetId) -> PromptSetOut:
    return PromptSetOut.model_validate(
        service.get_prompt_set(session, project=access.project, prompt_set_id=prompt_set_id)
    )


@router.get("/{prompt_set_id}/prompts", operation_id="listPrompts")
def list_prompts(
    session: SessionDep,
    access: Viewer,
    prompt_set_id: PromptSetId,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> Page[PromptOut]:
    """A page of prompts in file order."""
    ps = service.get_prompt_set(session, project=access.project, prompt_set_id=prompt_set_id)
    stmt = select(Prompt).where(Prompt.prompt_set_id == ps.id)
    rows, nxt = keyset(session, stmt, Prompt.id, limit=limit, cursor=cursor, descending=False)
    return Page[PromptOut](items=[PromptOut.model_validate(r) for r in rows], next_cursor=nxt)
