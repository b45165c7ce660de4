"""Exporting a run's generations for redistribution: the licence guard, the dataset card, JSONL."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.core.errors import Forbidden
from backend.prompts.models import Prompt, PromptSet
from backend.runs.models import Run
from backend.samples.models import Generation
from backend.teachers.models import Teacher


def terms_warnings(run: Run) -> list[str]:
    """The run's licence warnings (teachers whose terms restrict training competing models)."""
    return [w for w in (run.warnings or []) if "forbid" in w]


def check_export(*, run: Run, acknowledge_terms: bool) -> None:
    """Exporting for redistribution needs an explicit acknowledgement where the terms restrict it."""
    warnings = terms_warnings(run)
    if warnings and not acknowledge_terms:
        raise Forbidden(
            "this run's teacher has terms that restrict training competing models: "
            + "; ".join(warnings)
            + ". Pass acknowledge_terms=true to export anyway.",
            code="terms_not_acknowledged",
        )


def dataset_card(session: Session, *, run: Run) -> str:
    """A markdown dataset card: source, teacher, sampling, counts and the licence warning."""
    teacher = session.get(Teacher, run.teacher_id) if run.teacher_id else None
    pset = session.get(PromptSet, run.prompt_set_id) if run.prompt_set_id else None
    counts = dict(
        session.execute(
            select(Generation.status, func.count())
            .where(Generation.run_id == run.id)
            .group_by(Generation.status)
        )
        .tuples()
        .all()
    )
    lines = [f"# {run.name}", ""]
    for w in terms_warnings(run):
        lines += [f"> **Licence warning:** {w}. Check the provider's terms before redistributing.", ""]
    lines += [
        f"- prompt set: {pset.name} v{pset.version}" if pset else "- prompt set: (deleted)",
        f"- teacher: {teacher.name} ({teacher.backend}, {teacher.model}, licence {teacher.licence})"
        if teacher
        else "- teacher: (deleted)",
        f"- sampling: {orjson.dumps(run.recipe.get('rollout', {})).decode()}",
        f"- generations: {counts.get('ok', 0)} succeeded, {counts.get('failed', 0)} failed",
        f"- run: {run.id}, recipe version {run.recipe_version}, created {run.created_at:%Y-%m-%d}",
    ]
    return "\n".join(lines) + "\n"


def export_jsonl(*, run_id: int, batch: int = 1000) -> Iterator[bytes]:
    """The run's successful generations with their prompts, one JSON line each, read in keyset
    batches in a session of its own (the response streams after the request's session closed)."""
    from backend.core.db import session_scope

    last = 0
    while True:
        with session_scope() as s:
            rows = s.execute(
                select(Generation, Prompt.text, Prompt.messages, Prompt.reference)
                .join(Prompt, Prompt.id == Generation.prompt_id)
                .where(Generation.run_id == run_id, Generation.status == "ok", Generation.id > last)
                .order_by(Generation.id)
                .limit(batch)
            ).all()
            if not rows:
                return
            out = bytearray()
            for g, text, messages, reference in rows:
                out += orjson.dumps(
                    {
                        "prompt": text,
                        "messages": messages,
                        "reference": reference,
                        "attempt": g.attempt,
                        "reasoning": g.reasoning,
                        "content": g.content,
                        "finish_reason": g.finish_reason,
                        "completion_tokens": g.completion_tokens,
                    }
                )
                out += b"\n"
            last = rows[-1][0].id
        yield bytes(out)
