"""Which attempts of a run go to human review, and in which order.

First in line: a verifier and the judge disagree. Then the judge rejected or was unsure of it, the
judge's reply had no score, the reference does not parse, and last a seeded random share of accepted
attempts (larger while the judge is uncalibrated), so precision keeps being measured.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core.db import get_engine
from backend.reviews.models import ReviewTask
from backend.reviews.schemas import ReviewSettings
from backend.samples.models import Generation, Verdict

REASONS = (
    "disagreement",
    "judge_rejected",
    "judge_unsure",
    "judge_unparseable",
    "reference_unparseable",
    "sampled_accept",
)
PRIORITY = {r: i for i, r in enumerate(REASONS)}


def _draw(seed: int, what: str, gid: int) -> float:
    digest = hashlib.sha256(f"{seed}:{what}:{gid}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def reasons(
    session: Session, *, run_id: int, judge_version: str | None, settings: ReviewSettings, calibrated: bool
) -> dict[int, str]:
    """generation id -> why it goes to review (its most urgent reason)."""
    rows = session.execute(
        select(
            Generation.id,
            Generation.accepted,
            Verdict.verifier,
            Verdict.verifier_version,
            Verdict.status,
            Verdict.passed,
        )
        .outerjoin(Verdict, Verdict.generation_id == Generation.id)
        .where(Generation.run_id == run_id, Generation.status == "ok")
        .order_by(Generation.id)
        .execution_options(yield_per=5000)
    )
    by_gen: dict[int, dict[str, Any]] = {}
    for gid, accepted, verifier, version, status, passed in rows:
        g = by_gen.setdefault(gid, {"accepted": accepted, "judge": None, "verifiers": [], "ref_bad": False})
        if verifier is None:
            continue
        if verifier == "judge":
            if version == judge_version:
                g["judge"] = (status, passed)
        else:
            g["verifiers"].append(passed)
            g["ref_bad"] |= status == "reference_unparseable"
    share = settings.sample_share if calibrated else settings.uncalibrated_share
    out: dict[int, str] = {}
    for gid, g in by_gen.items():
        judge = g["judge"]
        decided = [p for p in g["verifiers"] if p is not None]
        if judge is not None and judge[1] is not None and decided and any(p != judge[1] for p in decided):
            out[gid] = "disagreement"
        elif judge is not None and judge[0] == "wrong":
            out[gid] = "judge_rejected"
        elif judge is not None and judge[0] == "unsure":
            out[gid] = "judge_unsure"
        elif judge is not None and judge[0] == "unparseable":
            out[gid] = "judge_unparseable"
        elif g["ref_bad"]:
            out[gid] = "reference_unparseable"
        elif g["accepted"] and _draw(settings.seed, "sample", gid) < share:
            out[gid] = "sampled_accept"
    return out


def route(session: Session, *, run_id: int, chosen: dict[int, str], settings: ReviewSettings) -> int:
    """Insert the queue's slots (idempotent: a re-run of the stage adds nothing twice); returns slots."""
    items = sorted(chosen.items(), key=lambda kv: (PRIORITY[kv[1]], kv[0]))[: settings.max_items]
    values = []
    for gid, why in items:
        slots = 2 if _draw(settings.seed, "overlap", gid) < settings.overlap_share else 1
        values += [
            {
                "run_id": run_id,
                "generation_id": gid,
                "slot": k,
                "reason": why,
                "priority": PRIORITY[why],
                "state": "open",
            }
            for k in range(slots)
        ]
    if get_engine().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    for i in range(0, len(values), 5000):
        session.execute(insert(ReviewTask).on_conflict_do_nothing(), values[i : i + 5000])
    return len(values)
