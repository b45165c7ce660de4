from __future__ import annotations

import json
import tempfile
from pathlib import Path as FsPath
from typing import Annotated, TypeVar

from fastapi import APIRouter, File, Form, Query, UploadFile, status
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import select

from backend.api.deps import Maintainer, SessionDep, Viewer
from backend.core.config import get_settings
from backend.core.errors import Invalid, TooLarge
from backend.core.ids import PathId
from backend.core.pagination import Page, keyset
from backend.jobs.schemas import JobOut
from backend.jobs.service import submit_job
from backend.prompts import service
from backend.prompts.hub import HubSource, check_source, write_spec
from backend.prompts.models import Prompt
from backend.prompts.schemas import CleaningOptions, ColumnMapping, PromptOut, PromptSetOut
from backend.prompts.synthesis import SynthesisOptions
from backend.teachers.service import get_teacher

router = APIRouter(prefix="/projects/{project_id}/prompt-sets", tags=["prompt-sets"])
PromptSetId = PathId
CHUNK = 1 << 20
M = TypeVar("M", bound=BaseModel)


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


def _parse_form_json(raw: str | None, model: type[M], field: str) -> M | None:
    """Multipart forms carry nested settings as JSON strings; validate them like a JSON body."""
    if not raw:
        return None
    try:
        return model.model_validate(json.loads(raw))
    except json.JSONDecodeError as exc:
        raise Invalid(
            f"{field} is not valid JSON: {exc.msg}",
            fields=[{"path": f"body.{field}", "message": exc.msg, "type": "json_invalid"}],
        ) from exc
    except ValidationError as exc:
        fields = [
            {"path": ".".join(["body", field, *map(str, e["loc"])]), "message": e["msg"], "type": e["type"]}
            for e in exc.errors()
        ]
        raise Invalid(
            f"{field} is invalid: {fields[0]['path']}: {fields[0]['message']}", fields=fields
        ) from exc


@router.get("", operation_id="listPromptSets")
def list_prompt_sets(session: SessionDep, access: Viewer) -> list[PromptSetOut]:
    return [PromptSetOut.model_validate(p) for p in service.list_prompt_sets(session, project=access.project)]


@router.post("", operation_id="importPromptSet", status_code=status.HTTP_202_ACCEPTED)
def import_prompt_set(
    session: SessionDep,
    access: Maintainer,
    file: Annotated[
        UploadFile,
        File(
            description="JSONL, CSV or Parquet, each optionally gzip-compressed (.jsonl.gz, ...), or a "
            "zip/tar of a save_to_disk folder"
        ),
    ],
    name: Annotated[str, Form(min_length=1, max_length=200)],
    skip_invalid: Annotated[bool, Form()] = False,
    mapping: Annotated[
        str | None,
        Form(
            description="JSON ColumnMapping: which column is the prompt, system, reference, tests, "
            'entry_point and id, e.g. {"prompt": "q", "tests": "test", "entry_point": "entry_point"}; '
            'a field left out is recognised by its usual names, "" means no such column'
        ),
    ] = None,
    options: Annotated[
        str | None, Form(description="JSON CleaningOptions (dedup, decontamination, split)")
    ] = None,
) -> JobOut:
    """Import a file as a new version of a prompt set, as a job: poll it for progress and the report.

    Atomic unless skip_invalid: one bad row and nothing is stored; the job's error names every bad row
    (the first 200, and a count per reason).
    """
    cols = _parse_form_json(mapping, ColumnMapping, "mapping")
    opts = _parse_form_json(options, CleaningOptions, "options") or CleaningOptions()
    if opts.decontaminate_against is not None:
        service.get_prompt_set(session, project=access.project, prompt_set_id=opts.decontaminate_against)
    path = _save_upload(file, get_settings().uploads_dir)
    return _submit_import(
        session, access, path, filename=file.filename or "upload", name=name, mapping=cols,
        skip_invalid=skip_invalid, options=opts,
    )  # fmt: skip


def _submit_import(
    session, access, path: FsPath, *, filename: str, name: str, mapping: ColumnMapping | None,
    skip_invalid: bool, options: CleaningOptions, hub: bool = False,
) -> JobOut:  # fmt: skip
    """The import job for a saved file (an upload, or a hub spec: `hub`); the file goes if no job does."""
    params = {
        "path": str(path.resolve()),
        "filename": filename,
        "name": name,
        "mapping": mapping.model_dump() if mapping else None,
        "skip_invalid": skip_invalid,
        "options": options.model_dump(),
        **({"hub": True} if hub else {}),
    }
    try:
        job = submit_job(
            session, project=access.project, kind="prompt_import", params=params, user_id=access.user.id
        )
    except BaseException:
        path.unlink(missing_ok=True)  # no job will ever read it
        raise
    return JobOut.model_validate(job)


class HubImportIn(HubSource):
    """A dataset split to import as a new version of a prompt set (as an upload would be)."""

    name: str = Field(min_length=1, max_length=200)
    mapping: ColumnMapping | None = None
    skip_invalid: bool = False
    options: CleaningOptions = Field(default_factory=CleaningOptions)


@router.post("/hub", operation_id="importPromptSetFromHub", status_code=status.HTTP_202_ACCEPTED)
def import_from_hub(session: SessionDep, access: Maintainer, body: HubImportIn) -> JobOut:
    """Import a split of a Hub dataset (or of a local dataset repository folder) as a new version of a
    prompt set, as a job: the same mapping, validation, cleaning, atomicity and report as a file upload.
    Streamed; HF_HUB_OFFLINE is honoured (offline, only cached datasets and local folders are read)."""
    source = HubSource.model_validate(body.model_dump(include=set(HubSource.model_fields)))
    check_source(source, project_id=access.project.id)  # 422/404 now; the worker checks again
    if body.options.decontaminate_against is not None:
        service.get_prompt_set(
            session, project=access.project, prompt_set_id=body.options.decontaminate_against
        )
    path = write_spec(source, project_id=access.project.id, dest_dir=get_settings().uploads_dir)
    return _submit_import(
        session, access, path, filename=source.label(), name=body.name, mapping=body.mapping,
        skip_invalid=body.skip_invalid, options=body.options, hub=True,
    )  # fmt: skip


@router.get("/{prompt_set_id}", operation_id="getPromptSet")
def get_prompt_set(session: SessionDep, access: Viewer, prompt_set_id: PromptSetId) -> PromptSetOut:
    return PromptSetOut.model_validate(
        service.get_prompt_set(session, project=access.project, prompt_set_id=prompt_set_id)
    )


@router.post(
    "/{prompt_set_id}/versions", operation_id="derivePromptSetVersion", status_code=status.HTTP_202_ACCEPTED
)
def derive_version(
    session: SessionDep, access: Maintainer, prompt_set_id: PromptSetId, body: CleaningOptions
) -> JobOut:
    """Clean a version into a new one (dedup, decontaminate, re-split) as a job; the source is unchanged."""
    src = service.get_prompt_set(session, project=access.project, prompt_set_id=prompt_set_id)
    if body.decontaminate_against is not None:
        service.get_prompt_set(session, project=access.project, prompt_set_id=body.decontaminate_against)
    params = {"source_id": src.id, "options": body.model_dump()}
    job = submit_job(
        session, project=access.project, kind="prompt_derive", params=params, user_id=access.user.id
    )
    return JobOut.model_validate(job)


@router.post(
    "/{prompt_set_id}/synthesize", operation_id="synthesizePrompts", status_code=status.HTTP_202_ACCEPTED
)
def synthesize(
    session: SessionDep, access: Maintainer, prompt_set_id: PromptSetId, body: SynthesisOptions
) -> JobOut:
    """Evol-Instruct: a teacher writes deeper and broader variants of the set's prompts, as a job.

    The variants land, deduplicated against the set, in a new version holding the seeds too; each records
    the seed it evolved from.
    """
    src = service.get_prompt_set(session, project=access.project, prompt_set_id=prompt_set_id)
    teacher = get_teacher(session, project=access.project, teacher_id=body.teacher_id)
    if not teacher.base_url:
        raise Invalid(
            f"teacher {teacher.name!r} has no base_url; synthesis needs an OpenAI-compatible endpoint",
            code="teacher_without_endpoint",
            fields=[{"path": "body.teacher_id", "message": "teacher has no base_url", "type": "value_error"}],
        )
    params = {"source_id": src.id, "options": body.model_dump(mode="json")}
    job = submit_job(
        session, project=access.project, kind="prompt_synthesize", params=params, user_id=access.user.id
    )
    return JobOut.model_validate(job)


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
