"""Verdict rows and their idempotent write, shared by the filter and the judge writers.

A verdict is upserted on (generation, verifier, version), so a retried or re-queued chunk never
duplicates one; the decision of an attempt is stored on it (`generations.accepted`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from backend.core.db import dialect_insert, storable
from backend.samples.models import Generation, Verdict

UPDATABLE = ("status", "passed", "score", "detail", "duration_ms", "created_at")


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
        stmt = dialect_insert()(Verdict)
        stmt = stmt.on_conflict_do_update(
            index_elements=["generation_id", "verifier", "verifier_version"],
            set_={c: getattr(stmt.excluded, c) for c in UPDATABLE},
        )
        session.execute(stmt, rows)
    if decisions:
        session.execute(update(Generation), decisions)
