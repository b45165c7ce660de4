"""Which attempts of a run go to human review, and in which order.

First in line: a verifier and the judge disagree. Then the judge rejected or was unsure of it, the
judge's reply had no score, the reference does not parse, and last a seeded random share of accepted
attempts (larger while the judge is uncalibrated), so precision keeps being measured.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.core.db import dialect_insert
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


PAGE = 5000  # generations read per keyset page


def reason_pages(
    session: Session, *, run_id: int, judge_version: str | None, settings: ReviewSettings, calibrated: bool
) -> Iterator[list[tuple[int, str]]]:
    """(generation id, why it goes to review: its most urgent reason), a keyset page of the run's
    generations at a time in id order, so a run of millions never sits in memory whole."""
    share = settings.sample_share if calibrated else settings.uncalibrated_share
    last = 0
    while True:
        gens = session.execute(
            select(Generation.id, Generation.accepted)
            .where(Generation.run_id == run_id, Generation.status == "ok", Generation.id > last)
            .order_by(Generation.id)
            .limit(PAGE)
        ).all()
        if not gens:
            return
        first, last = gens[0][0], gens[-1][0]
        by_gen: dict[int, dict[str, Any]] = {
            gid: {"accepted": accepted, "judge": None, "verifiers": [], "ref_bad": False}
            for gid, accepted in gens
        }
        verdicts = session.execute(
            select(
                Verdict.generation_id,
                Verdict.verifier,
                Verdict.verifier_version,
                Verdict.status,
                Verdict.passed,
            ).where(Verdict.generation_id.between(first, last), Verdict.run_id == run_id)
        )
        for gid, verifier, version, status, passed in verdicts:
            g = by_gen.get(gid)
            if g is None:
                continue
            if verifier == "judge":
                if version == judge_version:
                    g["judge"] = (status, passed)
            else:
                g["verifiers"].append(passed)
                g["ref_bad"] |= status == "reference_unparseable"
        page = [(gid, why) for gid, g in by_gen.items() if (why := _reason(gid, g, settings.seed, share))]
        if page:
            yield page


def _reason(gid: int, g: dict[str, Any], seed: int, share: float) -> str | None:
    judge = g["judge"]
    decided = [p for p in g["verifiers"] if p is not None]
    if judge is not None and judge[1] is not None and decided and any(p != judge[1] for p in decided):
        return "disagreement"
    if judge is not None and judge[0] == "wrong":
        return "judge_rejected"
    if judge is not None and judge[0] == "unsure":
        return "judge_unsure"
    if judge is not None and judge[0] == "unparseable":
        return "judge_unparseable"
    if g["ref_bad"]:
        return "reference_unparseable"
    if g["accepted"] and _draw(seed, "sample", gid) < share:
        return "sampled_accept"
    return None


def route(
    session: Session,
    *,
    run_id: int,
    pages: Callable[[], Iterable[list[tuple[int, str]]]],
    settings: ReviewSettings,
) -> int:
    """Insert the queue's slots page by page (idempotent: a re-run of the stage adds nothing twice);
    returns the slots. `pages()` yields (generation id, reason) in id order; where more than
    `max_items` are chosen, a first pass counts them by reason, so the most urgent reasons fill the
    queue first (lowest ids first within a reason) without holding every choice in memory."""
    quota: dict[str, int | None] = dict.fromkeys(REASONS)  # None: no cap
    attempts = (
        session.scalar(select(func.count()).where(Generation.run_id == run_id, Generation.status == "ok"))
        or 0
    )  # a count: never NULL
    if attempts > settings.max_items and sum(len(p) for p in pages()) > settings.max_items:
        counts = Counter(why for page in pages() for _, why in page)
        budget = settings.max_items
        for why in REASONS:
            quota[why] = take = min(counts[why], budget)
            budget -= take
    insert = dialect_insert()
    total = 0
    for page in pages():
        values = []
        for gid, why in page:
            left = quota[why]
            if left is not None:
                if left <= 0:
                    continue
                quota[why] = left - 1
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
        if values:
            session.execute(insert(ReviewTask).on_conflict_do_nothing(), values)
        total += len(values)
    return total
