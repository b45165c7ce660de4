"""Human decisions as selection reads them: per generation, the latest standing accept, reject or edit
of the run's review (an undone decision does not count)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.reviews.edits import left_out
from backend.reviews.models import Review


@dataclass(frozen=True)
class HumanDecision:
    accepted: bool  # accept and edit admit the attempt; reject removes it
    content: str | None = None  # an edit's replacement text
    reasoning: str | None = None
    edited: bool = False
    left_out: str | None = None  # an edit the snapshot leaves out (backend/reviews/edits.left_out)


def human_decisions(session: Session, *, run_id: int) -> dict[int, HumanDecision]:
    out: dict[int, HumanDecision] = {}
    rows = session.execute(
        select(Review.generation_id, Review.decision, Review.after)
        .where(
            Review.run_id == run_id,
            Review.undone.is_(False),
            Review.decision.in_(["accept", "reject", "edit"]),
        )
        .order_by(Review.id)
    )
    for gid, decision, after in rows:
        if decision == "edit":
            after = after or {}
            out[gid] = HumanDecision(
                True, after.get("content"), after.get("reasoning"), edited=True, left_out=left_out(after)
            )
        else:
            out[gid] = HumanDecision(decision == "accept")
    return out
