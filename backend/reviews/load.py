"""The review load a recipe would put on people, worked out before launch from its settings and the
number of attempts (the run estimate's `review`). The audit's count is known in advance (its share of
the attempts, capped); the routed reasons depend on what the judge and the verifiers will say, so for
them the estimate gives the most their caps allow."""

from __future__ import annotations

import math

from sqlalchemy.orm import Session

from backend.core.errors import NotFound
from backend.judge.calibration import calibrate
from backend.judge.labels import pairs_for
from backend.judge.schemas import JudgeSettings
from backend.judge.service import get_rubric
from backend.reviews.routing import REASONS, audit_share, caps
from backend.reviews.schemas import ReasonLoad, ReviewLoad, ReviewSettings


def judge_calibrated(session: Session, *, project_id: int, judge: JudgeSettings | None) -> bool:
    """Whether the judge stage would plan with calibrated thresholds now (workers/stages/judge's rule:
    thresholds set in the recipe or too few random labels are not calibrated)."""
    if judge is None or judge.accept_threshold is not None:
        return False
    try:
        rubric = get_rubric(session, project_id=project_id, version=judge.rubric_version)
    except NotFound:
        return False
    found = pairs_for(session, rubric=rubric)
    report = calibrate(found.pairs, pass_score=rubric.pass_score, target=judge.target_precision)
    return report["status"] == "calibrated"


def review_load(settings: ReviewSettings, *, attempts: int, calibrated: bool) -> ReviewLoad:
    cap = caps(settings, attempts)
    share = audit_share(settings, calibrated=calibrated)
    reasons = []
    for why in REASONS:
        own = cap[why]
        most = min(attempts if own is None else own, settings.max_items)
        expected = min(math.floor(share * attempts + 0.5), most) if why == "audit" else None
        routed = share > 0 if why == "audit" else getattr(settings, why).route
        reasons.append(ReasonLoad(reason=why, routed=routed and most > 0, expected=expected, at_most=most))
    known = sum(r.expected or 0 for r in reasons)
    most_total = min(sum(r.at_most for r in reasons), attempts, settings.max_items)
    which = "calibrated: audit.share" if calibrated else "not calibrated yet: audit.uncalibrated_share"
    basis = [
        f"audit: {share:.0%} of {attempts} attempts drawn at random (the judge is {which})",
        "routed reasons: their caps (max_items, max_share of the attempts), else every attempt; how many "
        "come depends on what the judge and the verifiers say",
        f"each item takes {1 + settings.overlap_share:g} slots on average (overlap_share "
        f"{settings.overlap_share:g}); at most {settings.max_items} items in all (max_items)",
    ]
    return ReviewLoad(
        reasons=reasons,
        expected=known,
        at_most=most_total,
        tasks_per_item=1 + settings.overlap_share,
        calibrated=calibrated,
        basis=basis,
    )
