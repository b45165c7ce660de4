"""Prompt sets: import (atomic by default), versions, listing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from backend.core.errors import Invalid, NotFound
from backend.projects.models import Project
from backend.prompts.importer import parse_file
from backend.prompts.models import Prompt, PromptSet
from backend.prompts.readers import detect_format
from backend.prompts.report import ImportFailed, Report
from backend.prompts.schemas import ColumnMapping
from backend.users.models import User

BATCH = 5000


def next_version(session: Session, *, project_id: int, name: str) -> int:
    """1 for a new name, else one more than the latest version."""
    stmt = select(func.max(PromptSet.version)).where(
        PromptSet.project_id == project_id, PromptSet.name == name
    )
    return (session.scalar(stmt) or 0) + 1


def import_prompt_set(
    session: Session,
    *,
    project: Project,
    user: User | None,
    name: str,
    path: Path,
    filename: str,
    mapping: ColumnMapping | None = None,
    skip_invalid: bool = False,
) -> tuple[PromptSet, Report]:
    """Import a file as a new version of a prompt set; any rejected row aborts unless skip_invalid."""
    mapping = mapping or ColumnMapping()
    report = Report()
    pset = PromptSet(
        project_id=project.id,
        name=name,
        version=next_version(session, project_id=project.id, name=name),
        source=filename,
        status="importing",
        created_by=user.id if user else None,
    )
    session.add(pset)
    session.flush()
    try:
        fmt = detect_format(path, filename)
        batch: list[dict] = []
        for p in parse_file(path, fmt, mapping, report):
            batch.append(
                {
                    "prompt_set_id": pset.id,
                    "position": p.position,
                    "text": p.text,
                    "system": p.system,
                    "messages": p.messages,
                    "reference": p.reference,
                    "meta": p.meta,
                    "text_hash": p.text_hash,
                    "split": "train",
                }
            )
            if len(batch) >= BATCH:
                session.execute(insert(Prompt), batch)
                report.rows_stored += len(batch)
                batch.clear()
        if batch:
            session.execute(insert(Prompt), batch)
            report.rows_stored += len(batch)
    except ImportFailed as exc:
        fields = [{"path": "file", "message": exc.message, "type": exc.reason, "row": exc.row}]
        raise Invalid(f"{filename}: {exc.message}", code=exc.reason, fields=fields) from exc
    if report.rejected and not skip_invalid:
        first = report.errors[0]
        raise Invalid(
            f"{report.rejected} of {report.rows_read} rows are invalid (first: row {first.row}"
            f"{', field ' + first.field if first.field else ''}: {first.message}); nothing was stored",
            code="invalid_rows",
            details={"report": report.out().model_dump()},
        )
    if report.rows_stored == 0:
        raise Invalid(
            f"{filename}: no valid rows; nothing was stored",
            code="no_valid_rows",
            details={"report": report.out().model_dump()},
        )
    pset.prompt_count = report.rows_stored
    pset.status = "ready"
    pset.stats = {"count": report.rows_stored, "rejected": report.rejected}
    session.flush()
    return pset, report


def get_prompt_set(session: Session, *, project: Project, prompt_set_id: int) -> PromptSet:
    """A prompt set of this project, or 404."""
    ps = session.get(PromptSet, prompt_set_id)
    if ps is None or ps.project_id != project.id:
        raise NotFound(f"prompt set {prompt_set_id} not found")
    return ps


def list_prompt_sets(session: Session, *, project: Project) -> list[PromptSet]:
    """Every version of every prompt set in a project, newest first."""
    stmt = select(PromptSet).where(PromptSet.project_id == project.id).order_by(PromptSet.id.desc())
    return list(session.scalars(stmt))
