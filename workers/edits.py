"""Verify a reviewer's edit with the run's filter verifiers (backend/reviews/edits.py says the rule and
where the verdict lives): the edit_verify job runs it when the edit is saved, and the snapshot stage
for any edit still pending, so a snapshot never waits on nor races the job."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core.db import storable
from backend.core.logging import error_text
from backend.prompts.models import Prompt
from backend.reviews import edits
from backend.reviews.models import Review
from backend.runs.models import Run
from backend.samples.models import Generation
from workers.verifiers.verdict import Item
from workers.verifiers.verify import verify_many

log = logging.getLogger(__name__)


def verify_edit(session: Session, review_id: int) -> dict[str, Any] | None:
    """Run the verifiers on the edit's text and store the verdict with it; the verdict, or None where
    the review is no verified edit (no filter verifiers, or not an edit). A verifier that fails to run
    stores status `error` with its scrubbed reason: never a verdict on the edit."""
    review = session.get(Review, review_id, with_for_update=True)
    if review is None or review.decision != "edit" or review.after is None:
        return None
    run = session.get_one(Run, review.run_id)
    combo = edits.verifiers_of(run.recipe)
    if combo is None or not combo.verifiers:
        return None
    reference, meta = session.execute(
        select(Prompt.reference, Prompt.meta)
        .join(Generation, Generation.prompt_id == Prompt.id)
        .where(Generation.id == review.generation_id)
    ).one()
    item = Item(
        completion=review.after.get("content") or "",
        reasoning=review.after.get("reasoning"),
        reference=reference,
        tests=(meta or {}).get("tests"),
    )
    try:
        verdict = edits.verdict_of(verify_many(combo, [item])[0])
        verdict["detail"] = storable(verdict["detail"])
    except Exception as exc:  # the verifier's machinery, not the edit: recorded as such, never wrong
        log.warning("verifying edit %s failed: %s", review_id, error_text(exc))
        verdict = {"status": "error", "passed": None, "error": error_text(exc)}
    review.after = {**review.after, "verdict": verdict}  # a new dict: the JSON column sees the change
    return verdict


def verify_unsettled(session: Session, run_id: int) -> int:
    """Verify every standing edit of the run whose verdict is pending or an error; how many still have
    none after this (the verifier failed again)."""
    rows = session.execute(
        select(Review.id, Review.after).where(
            Review.run_id == run_id, Review.decision == "edit", Review.undone.is_(False)
        )
    ).all()
    left = 0
    for rid, after in rows:
        if ((after or {}).get("verdict") or {}).get("status") in edits.UNSETTLED:
            verdict = verify_edit(session, rid)
            left += verdict is not None and verdict["status"] in edits.UNSETTLED
    return left
