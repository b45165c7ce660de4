"""Which attempts of a run go to human review, and in which order.

People get only what only people can settle: a verifier and the judge disagree, the judge is unsure
(between its thresholds, or within `unsure_margin` of accept) of an attempt no verifier decided, the
judge's reply had no score, or the reference does not parse (no verifier could decide), and a random
audit: a seeded uniform draw over every attempt, whatever the machines said of it. The audit comes
first, so its sample stays uniform (a disagreement drawn for it is reviewed as audit); calibration
counts only its labels, since the router picked the others. A judge reject nobody disputes (the
verifier agrees, or none decided) is not routed unless `judge_rejected.route` says so. Each reason is
switched and capped in the recipe (backend/reviews/schemas.py); a capped reason keeps a seeded random
subset of its attempts, never the first ids (prompt order often follows source or difficulty).
"""

from __future__ import annotations

import hashlib
import math
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.core.db import dialect_insert
from backend.reviews.models import ReviewTask
from backend.reviews.schemas import AuditRule, ReviewSettings, RouteRule
from backend.samples.models import Generation, Verdict

REASONS = (
    "disagreement",
    "audit",
    "judge_unsure",
    "judge_unparseable",
    "reference_unparseable",
    "judge_rejected",
)
PRIORITY = {r: i for i, r in enumerate(REASONS)}
RANDOM_REASONS = frozenset({"audit"})  # drawn at random: labels calibration may count
_CODE = {r: i for i, r in enumerate(REASONS)}


def _key(seed: int, what: str, gid: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{what}:{gid}".encode()).digest()[:8], "big")


def _draw(seed: int, what: str, gid: int) -> float:
    return _key(seed, what, gid) / 2**64


PAGE = 5000  # generations read per keyset page


def audit_share(settings: ReviewSettings, *, calibrated: bool) -> float:
    return settings.audit.share if calibrated else settings.audit.uncalibrated_share


def reason_pages(
    session: Session,
    *,
    run_id: int,
    judge_version: str | None,
    settings: ReviewSettings,
    calibrated: bool,
    accept: float | None = None,
) -> Iterator[list[tuple[int, str, str | None]]]:
    """(generation id, why it goes to review, the routed reason behind an audit draw or None), a keyset
    page of the run's generations at a time in id order, so a run of millions never sits in memory
    whole. `accept` is the judge's accept threshold (for `unsure_margin`)."""
    share = audit_share(settings, calibrated=calibrated)
    last = 0
    while True:
        gids = session.scalars(
            select(Generation.id)
            .where(Generation.run_id == run_id, Generation.status == "ok", Generation.id > last)
            .order_by(Generation.id)
            .limit(PAGE)
        ).all()
        if not gids:
            return
        first, last = gids[0], gids[-1]
        by_gen: dict[int, dict[str, Any]] = {
            gid: {"judge": None, "verifiers": [], "ref_bad": False} for gid in gids
        }
        verdicts = session.execute(
            select(
                Verdict.generation_id,
                Verdict.verifier,
                Verdict.verifier_version,
                Verdict.status,
                Verdict.passed,
                Verdict.score,
            ).where(Verdict.generation_id.between(first, last), Verdict.run_id == run_id)
        )
        for gid, verifier, version, status, passed, score in verdicts:
            g = by_gen.get(gid)
            if g is None:
                continue
            if verifier == "judge":
                if version == judge_version:
                    g["judge"] = (status, passed, score)
            else:
                g["verifiers"].append(passed)
                g["ref_bad"] |= status == "reference_unparseable"
        page = []
        for gid, g in by_gen.items():
            why = _reason(g, settings, accept)
            if share > 0 and _draw(settings.seed, "audit", gid) < share:
                page.append((gid, "audit", why))
            elif why is not None:
                page.append((gid, why, None))
        if page:
            yield page


def _reason(g: dict[str, Any], settings: ReviewSettings, accept: float | None) -> str | None:
    """The routed reason an attempt has (switched on or not: route() applies the switches)."""
    judge = g["judge"]
    decided = [p for p in g["verifiers"] if p is not None]
    status, passed, score = judge if judge is not None else (None, None, None)
    if passed is not None and any(p != passed for p in decided):
        return "disagreement"
    if not decided:  # nothing but the judge looked at it
        near = (
            settings.unsure_margin > 0
            and score is not None
            and accept is not None
            and abs(score - accept) <= settings.unsure_margin
        )
        if status == "unsure" or (near and status in ("passed", "wrong")):
            return "judge_unsure"
        if status == "unparseable":
            return "judge_unparseable"
        if g["ref_bad"]:  # a data defect: people fix the reference, whatever the judge said
            return "reference_unparseable"
    if status == "wrong":  # and any verifier that decided agrees
        return "judge_rejected"
    return None


def caps(settings: ReviewSettings, attempts: int) -> dict[str, int | None]:
    """Each reason's most items (0 where it is switched off; None: no cap of its own)."""
    out: dict[str, int | None] = {}
    for why in REASONS:
        rule: RouteRule | AuditRule = settings.audit if why == "audit" else getattr(settings, why)
        if isinstance(rule, RouteRule) and not rule.route:
            out[why] = 0
            continue
        limits = [rule.max_items] if rule.max_items is not None else []
        if rule.max_share is not None:
            limits.append(math.floor(rule.max_share * attempts))
        out[why] = min(limits) if limits else None
    return out


def _cutoffs(
    keys: dict[str, array], audit_fallback: array, cap: dict[str, int | None], budget: int
) -> tuple[dict[str, int], int]:
    """The largest pick key each reason keeps (its own cap, then the run's max_items in priority
    order), and the audit's own cutoff: an audit draw past its own cap falls back to its routed reason,
    one cut by max_items does not."""
    audit = keys["audit"]
    order = sorted(range(len(audit)), key=audit.__getitem__)
    own = len(order) if cap["audit"] is None else min(len(order), cap["audit"] or 0)
    for i in order[own:]:
        if audit_fallback[i] >= 0:
            keys[REASONS[audit_fallback[i]]].append(audit[i])
    audit_own = audit[order[own - 1]] if own else -1
    keys["audit"] = array("Q", (audit[i] for i in order[:own]))
    cut: dict[str, int] = {}
    for why in REASONS:
        ks = sorted(keys[why])
        take = min(len(ks) if cap[why] is None else min(len(ks), cap[why] or 0), budget)
        budget -= take
        cut[why] = ks[take - 1] if take else -1
    return cut, audit_own


def route(
    session: Session,
    *,
    run_id: int,
    pages: Callable[[], Iterable[Sequence[Any]]],
    settings: ReviewSettings,
) -> int:
    """Insert the queue's slots page by page (idempotent: a re-run of the stage adds nothing twice);
    returns the slots. `pages()` yields (generation id, reason[, the routed reason behind an audit
    draw]) in id order. A first pass keeps each reason's pick keys (8 bytes an item), so caps keep a
    seeded random subset and the most urgent reasons fill max_items first without holding every row."""
    attempts = (
        session.scalar(select(func.count()).where(Generation.run_id == run_id, Generation.status == "ok"))
        or 0
    )  # a count: never NULL
    cap = caps(settings, attempts)
    keys = {why: array("Q") for why in REASONS}
    fallback = array("b")  # per audit key, the code of its routed reason (-1: none)
    for page in pages():
        for gid, why, *rest in page:
            keys[why].append(_key(settings.seed, "pick", gid))
            if why == "audit":
                behind = rest[0] if rest else None
                fallback.append(_CODE[behind] if behind is not None and cap[behind] != 0 else -1)
    cut, audit_own = _cutoffs(keys, fallback, cap, settings.max_items)
    insert = dialect_insert()
    total = 0
    for page in pages():
        values = []
        for gid, why, *rest in page:
            k = _key(settings.seed, "pick", gid)
            if k > cut[why]:
                behind = rest[0] if rest else None
                if why != "audit" or k <= audit_own or behind is None or cap[behind] == 0:
                    continue
                why = behind
                if k > cut[why]:
                    continue
            slots = 2 if _draw(settings.seed, "overlap", gid) < settings.overlap_share else 1
            values += [
                {
                    "run_id": run_id,
                    "generation_id": gid,
                    "slot": n,
                    "reason": why,
                    "priority": PRIORITY[why],
                    "state": "open",
                }
                for n in range(slots)
            ]
        if values:
            session.execute(insert(ReviewTask).on_conflict_do_nothing(), values)
        total += len(values)
    return total
