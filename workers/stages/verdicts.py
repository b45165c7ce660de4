"""Verdict rows and their idempotent write, shared by the filter and the judge writers.

A verdict is upserted on (generation, verifier, version), so a retried or re-queued chunk never
duplicates one; the decision of an attempt is stored on it (`generations.accepted`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from backend.core.db import get_engine
from backend.samples.models import Generation, Verdict

UPDATABLE = ("status", "passed", "score", "detail", "duration_ms", "created_at")


def insert_for_dialect():
    """The dialect's INSERT with ON CONFLICT (PostgreSQL, or SQLite for the embedded default)."""
    if get_engine().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def storable(value: Any) -> Any:
    """jsonb and text cannot hold NUL; a verifier's or judge's detail quotes the teacher's answer."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {k: storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable(v) for v in value]
    return value


def verdict_row(
    *, run_id: int, generation_id: int, verifier: str, version: str, status: str, passed: bool | None,
    score: float | None, detail: Any, duration_ms: float, now: datetime,
) -> dict[str, Any]:  # fmt: skip
    """One row of `verdicts`, ready for upsert."""
    return {
        "run_id": run_id,
        "generation_id": generation_id,
        "verifier": verifier,
        "verifier_version": version,
        "status": status,
        "passed": passed,
        "score": score,
        "detail": storable(detail),
        "duration_ms": duration_ms,
        "created_at": now,
    }


def write_verdicts(session: Session, rows: list[dict[str, Any]], decisions: list[dict[str, Any]]) -> None:
    """Upsert the verdict rows, then store each decided attempt's decision ({"id", "accepted"})."""
    if rows:
        stmt = insert_for_dialect()(Verdict)
        stmt = stmt.on_conflict_do_update(
            index_elements=["generation_id", "verifier", "verifier_version"],
            set_={c: getattr(stmt.excluded, c) for c in UPDATABLE},
        )
        session.execute(stmt, rows)
    if decisions:
        session.execute(update(Generation), decisions)
