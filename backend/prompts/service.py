"""Prompt sets: import (atomic by default), versions, listing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.core.errors import Invalid, NotFound
from backend.projects.models import Project
from backend.prompts.bulk import PromptWriter
from backend.prompts.importer import parse_file
from backend.prompts.models import PromptSet
from backend.prompts.readers import detect_format
from backend.prompts.report import ImportFailed, Report
from backend.prompts.schemas import ColumnMapping
from backend.users.models import User

PROGRESS_EVERY = 10_000  # rows between progress callbacks (the callback throttles writes itself)


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
    on_progress: Callable[[int], None] | None = None,
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
    writer = PromptWriter(session)
    try:
        fmt = detect_format(path, filename)
        for p in parse_file(path, fmt, mapping, report):
            writer.add(
                (pset.id, p.position, p.text, p.system, p.messages, p.reference, p.meta, p.text_hash, "train")
            )
            if on_progress is not None and report.rows_read % PROGRESS_EVERY == 0:
                on_progress(report.rows_read)
        writer.flush()
        report.rows_stored = writer.written
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
