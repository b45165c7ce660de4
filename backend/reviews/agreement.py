"""Agreement between reviewers on the overlap items: Cohen's kappa per pair (scikit-learn) and
Krippendorff's alpha over everyone (the krippendorff package)."""

from __future__ import annotations

from collections import defaultdict
from itertools import combinations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.reviews.models import Review

LABELS = ("accept", "reject", "edit")


def decisions(session: Session, *, run_id: int) -> dict[int, dict[int, bool]]:
    """generation -> reviewer -> accepted, from each reviewer's standing (not undone) last decision."""
    out: dict[int, dict[int, bool]] = defaultdict(dict)
    rows = session.execute(
        select(Review.generation_id, Review.reviewer_id, Review.decision)
        .where(Review.run_id == run_id, Review.decision.in_(LABELS), Review.undone.is_(False))
        .order_by(Review.id)
    )
    for gid, uid, decision in rows:
        if uid is not None:
            out[gid][uid] = decision == "accept"
    return out


def agreement(session: Session, *, run_id: int) -> dict:
    from sklearn.metrics import cohen_kappa_score

    overlap = {g: r for g, r in decisions(session, run_id=run_id).items() if len(r) >= 2}
    reviewers = sorted({u for r in overlap.values() for u in r})
    pairs: list[dict] = []
    agree: defaultdict[int, int] = defaultdict(int)
    seen: defaultdict[int, int] = defaultdict(int)
    for a, b in combinations(reviewers, 2):
        shared = [(r[a], r[b]) for r in overlap.values() if a in r and b in r]
        if not shared:
            continue
        for x, y in shared:
            for u in (a, b):
                seen[u] += 1
                agree[u] += x == y
        ya, yb = [x for x, _ in shared], [y for _, y in shared]
        kappa = float(cohen_kappa_score(ya, yb)) if len(set(ya) | set(yb)) > 1 else None
        pairs.append(
            {
                "reviewers": [a, b],
                "items": len(shared),
                "kappa": None if kappa is None or kappa != kappa else round(kappa, 4),
            }
        )
    return {
        "pairs": pairs,
        "alpha": alpha(overlap, reviewers),
        "per_reviewer": {u: (seen[u], round(agree[u] / seen[u], 4) if seen[u] else None) for u in reviewers},
    }


def alpha(overlap: dict[int, dict[int, bool]], reviewers: list[int]) -> float | None:
    import krippendorff
    import numpy as np

    if len(overlap) < 2 or len(reviewers) < 2:
        return None
    data = np.full((len(reviewers), len(overlap)), np.nan)
    col = {u: i for i, u in enumerate(reviewers)}
    for j, r in enumerate(overlap.values()):
        for u, ok in r.items():
            data[col[u], j] = 1.0 if ok else 0.0
    if len(set(data[~np.isnan(data)].tolist())) < 2:
        return 1.0  # everyone gave the same label everywhere: perfect agreement, alpha is 0/0
    return round(float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")), 4)
