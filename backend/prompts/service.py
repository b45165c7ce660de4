"""Prompt sets: import (atomic by default), versions, listing."""

from __future__ import annotations

import gc
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from backend.core.config import get_settings
from backend.core.errors import Conflict, Invalid, NotFound
from backend.projects.models import Project
from backend.prompts.bulk import PromptWriter
from backend.prompts.importer import HUB, ParsedPrompt, parse_batches
from backend.prompts.models import Prompt, PromptSet
from backend.prompts.parse_process import ParseProcess
from backend.prompts.pipeline import Cleaner
from backend.prompts.readers import detect_format
from backend.prompts.report import ImportFailed, Report
from backend.prompts.schemas import CleaningOptions, ColumnMapping
from backend.users.models import User

CLEAN_BATCH = 4_096  # prompts per cleaning batch; near-duplicate hashing is vectorised over a batch


def _parse_process_min_bytes() -> float:
    """Files from this size up are parsed in a second process on PostgreSQL (_import_in_two_processes);
    below it, starting that process (a fraction of a second) costs more than it saves."""
    return get_settings().parse_process_min_mb * 2**20


def _pause_gc() -> bool:
    """Pause the cyclic garbage collector; returns whether it was on. An import allocates millions of
    short-lived objects (rows, their metadata dicts) and makes no reference cycles, but each of them
    counts towards the next collection, and collections walk every live container: about a tenth of the
    import's CPU time, measured on 200,000 rows. Reference counting still frees everything at once."""
    was = gc.isenabled()
    gc.disable()
    return was


def _import_in_two_processes(
    path: Path,
    fmt: str,
    mapping: ColumnMapping,
    options: CleaningOptions,
    skip_invalid: bool,
    cleaner: Cleaner,
    writer: PromptWriter,
    report: Report,
    on_progress: Callable[[int], None] | None,
) -> None:
    """The import of a big file on PostgreSQL: a parse process reads, checks and hashes the rows and
    builds their COPY lines (backend/prompts/parse_process.py); this one removes duplicates and writes
    the surviving lines. Same result as the one-process loop in import_prompt_set, on two cores."""
    proc = ParseProcess(
        path=path,
        fmt=fmt,
        mapping=mapping,
        options=options,
        prompt_set_id=writer.prompt_set_id,
        size=CLEAN_BATCH,
    )
    try:
        for batch in proc.batches():
            report.rows_read = batch.rows_read
            if not batch.rejected or skip_invalid:
                alive = cleaner.select(batch.hashed_rows())
                kept = int(alive.sum())
                evals = int(batch.evals[alive].sum()) if batch.evals is not None else 0
                cleaner.count_splits(train=kept - evals, eval=evals)
                writer.write_encoded(batch.lines(alive), kept)
            if on_progress is not None:
                on_progress(report.rows_read)
    finally:
        proc.stop()
        if proc.report is not None:
            report.rows_read, report.errors, report.reasons = (
                proc.report.rows_read,
                proc.report.errors,
                proc.report.reasons,
            )


def content_counts(session: Session, prompt_set_id: int) -> dict[str, int]:
    """How many of a version's prompts have tests and a reference: what the wizard suggests verifiers
    from. One scan of the new version's rows, after they are written (counting on the way in would need
    the parse process to report it too)."""
    # The type of meta.tests: NULL where the key is missing, 'null' where it holds JSON null (older
    # imports kept a tests column as it was); neither counts.
    if session.get_bind().dialect.name == "postgresql":
        tests_type = func.jsonb_typeof(Prompt.meta["tests"])
    else:
        tests_type = func.json_type(Prompt.meta, "$.tests")
    stmt = select(func.count().filter(tests_type != "null"), func.count(Prompt.reference)).where(
        Prompt.prompt_set_id == prompt_set_id
    )
    with_tests, with_reference = session.execute(stmt).one()
    return {"with_tests": with_tests or 0, "with_reference": with_reference or 0}


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
    options: CleaningOptions | None = None,
    on_progress: Callable[[int], None] | None = None,
    fmt: str | None = None,
) -> tuple[PromptSet, Report]:
    """Import a file as a new version of a prompt set, cleaned on the way in. `fmt` is told only for
    what no file name can say (importer.HUB: the file names a dataset to read); else it is detected.

    Atomic unless skip_invalid: any rejected row aborts the import and nothing is stored.
    """
    mapping = mapping or ColumnMapping()
    options = options or CleaningOptions()
    cleaner = Cleaner(options, _eval_rows(session, project=project, options=options))
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
    writer = PromptWriter(session, pset.id)
    gc_was = _pause_gc()
    try:
        fmt = fmt or detect_format(path, filename)
        if writer.postgres and path.is_file() and path.stat().st_size >= _parse_process_min_bytes():
            _import_in_two_processes(
                path, fmt, mapping, options, skip_invalid, cleaner, writer, report, on_progress
            )
        else:
            for batch in parse_batches(path, fmt, mapping, report, CLEAN_BATCH):
                # Once a row is rejected an atomic import is doomed: read on for the report, stop writing.
                if not report.rejected or skip_invalid:
                    writer.add_batch(*cleaner.process(batch))
                if on_progress is not None:
                    on_progress(report.rows_read)
        writer.close()
    except ImportFailed as exc:
        writer.abort(exc)
        where = "dataset" if fmt == HUB else "file"
        fields = [{"path": where, "message": exc.message, "type": exc.reason, "row": exc.row}]
        raise Invalid(f"{filename}: {exc.message}", code=exc.reason, fields=fields) from exc
    except BaseException as exc:
        writer.abort(exc)
        raise
    finally:
        if gc_was:
            gc.enable()
    report.rows_stored = writer.written
    report.removed, report.removed_examples = dict(cleaner.removed), cleaner.examples
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
    _fill_matched_texts(session, pset.id, cleaner.examples)
    pset.prompt_count = report.rows_stored
    pset.status = "ready"
    pset.stats = {
        **cleaner.stats(source=filename, rows_read=report.rows_read, rejected=report.rejected),
        **content_counts(session, pset.id),
    }
    session.flush()
    return pset, report


def derive_version(
    session: Session,
    *,
    project: Project,
    source: PromptSet,
    user: User | None,
    options: CleaningOptions,
    on_progress: Callable[[int], None] | None = None,
    extra: list[ParsedPrompt] | None = None,
    label: str | None = None,
) -> PromptSet:
    """Clean an existing version into a new one (lineage in parent_id); the source is never changed.

    extra: new prompts (synthesized variants) cleaned after the source's, so any that repeat the set go.
    """
    if source.status != "ready":
        raise Conflict(f"prompt set {source.id} is {source.status}, not ready", code="prompt_set_not_ready")
    cleaner = Cleaner(options, _eval_rows(session, project=project, options=options))
    pset = PromptSet(
        project_id=project.id,
        name=source.name,
        version=next_version(session, project_id=project.id, name=source.name),
        parent_id=source.id,
        source=label or f"{source.name} v{source.version}",
        status="importing",
        created_by=user.id if user else None,
    )
    session.add(pset)
    session.flush()
    cols = (Prompt.position, Prompt.text, Prompt.system, Prompt.messages, Prompt.reference, Prompt.meta)
    stmt = select(*cols).where(Prompt.prompt_set_id == source.id).order_by(Prompt.position)
    read = 0
    writer = PromptWriter(session, pset.id)
    try:
        # The source version is immutable, so a second connection streams it while COPY holds the first.
        bind = session.get_bind()
        with (bind if isinstance(bind, Engine) else bind.engine).connect() as reader:
            result = reader.execution_options(stream_results=True, yield_per=CLEAN_BATCH).execute(stmt)
            for page in result.partitions():
                writer.add_batch(*cleaner.process([ParsedPrompt(*r) for r in page]))
                read += len(page)
                if on_progress is not None:
                    on_progress(read)
        rest = extra or []
        for i in range(0, len(rest), CLEAN_BATCH):
            writer.add_batch(*cleaner.process(rest[i : i + CLEAN_BATCH]))
            read += len(rest[i : i + CLEAN_BATCH])
        writer.close()
    except BaseException as exc:
        writer.abort(exc)
        raise
    _fill_matched_texts(session, pset.id, cleaner.examples)
    pset.prompt_count = writer.written
    pset.status = "ready"
    pset.stats = {
        **cleaner.stats(source=pset.source, rows_read=read, rejected=0),
        "removed_examples": [e.model_dump() for e in cleaner.examples],
        **content_counts(session, pset.id),
    }
    session.flush()
    return pset


def _eval_rows(
    session: Session, *, project: Project, options: CleaningOptions
) -> list[tuple[int, str]] | None:
    if options.decontaminate_against is None:
        return None
    ev = get_prompt_set(session, project=project, prompt_set_id=options.decontaminate_against)
    stmt = select(Prompt.position, Prompt.text).where(Prompt.prompt_set_id == ev.id).order_by(Prompt.position)
    return [(pos, text) for pos, text in session.execute(stmt)]


def _fill_matched_texts(session: Session, prompt_set_id: int, examples: list) -> None:
    """Duplicates of rows from earlier batches: look the kept row's text up once, at the end."""
    want = {e.matched for e in examples if e.matched_text is None and e.reason != "contaminated"}
    if not want:
        return
    stmt = select(Prompt.position, Prompt.text).where(
        Prompt.prompt_set_id == prompt_set_id, Prompt.position.in_(want)
    )
    texts = dict(session.execute(stmt).tuples().all())
    for e in examples:
        if e.matched_text is None and e.matched in texts:
            e.matched_text = texts[e.matched][:200]


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
