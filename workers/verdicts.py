"""Verdicts, shared by the stages that write or read them (filter, judge, adaptive rollout): which
verdict decides, the rows and their idempotent write.

A verdict is upserted on (generation, verifier, version), so a retried or re-queued chunk never
duplicates one; the decision of an attempt is stored on it (`generations.accepted`).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from backend.core.db import dialect_insert, storable
from backend.samples.models import Generation, Verdict
from backend.verifiers.registry import VERIFIERS, VerifierCombo
from workers.verifiers.verdict import Verdict as Judged
from workers.verifiers.verify import COMBO_VERSION

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


def final_of(combo: VerifierCombo) -> tuple[str, str]:
    """(verifier, version) of the verdict that decides: the combination's, or the one verifier's."""
    if len(combo.verifiers) == 1:
        return combo.verifiers[0].name, VERIFIERS[combo.verifiers[0].name].version
    return combo.mode, COMBO_VERSION


def outcome(passed: bool | None) -> str:
    return "accepted" if passed else ("rejected" if passed is False else "undecided")


def store_verdicts(
    session: Session, *, run_id: int, ids: list[int], verdicts: list[Judged], now: datetime
) -> tuple[Counter[str], dict[str, Counter[str]]]:
    """Upsert each generation's verdicts (its verifiers' and their combination's) and store its
    decision; returns the outcome counts and the statuses per verifier."""
    rows: list[dict[str, Any]] = []
    decisions: list[dict[str, Any]] = []
    per_verifier: dict[str, Counter[str]] = {}
    counts: Counter[str] = Counter()
    for gid, v in zip(ids, verdicts, strict=True):
        for part in (*v.parts, v):
            rows.append(
                verdict_row(
                    run_id=run_id, generation_id=gid, verifier=part.verifier, version=part.version,
                    status=part.status, passed=part.passed, score=part.score, detail=part.detail,
                    duration_ms=part.duration_ms, now=now,
                )
            )  # fmt: skip
            per_verifier.setdefault(part.verifier, Counter())[part.status] += 1
        decisions.append({"id": gid, "accepted": v.passed})
        counts["verified"] += 1
        counts[outcome(v.passed)] += 1
    write_verdicts(session, rows, decisions)
    return counts, per_verifier
