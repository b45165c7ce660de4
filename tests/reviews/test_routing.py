"""Routing reads a run's generations a keyset page at a time and still fills a capped queue with the
most urgent reasons first (lowest ids first within a reason), as one sorted pass over everything would."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from tests.support.reviews import seed_review_run

pytestmark = pytest.mark.usefixtures("database")  # review paths on PostgreSQL and SQLite


def _queue(rid: int) -> list[tuple[int, str, int]]:
    from backend.core.db import session_scope
    from backend.reviews.models import ReviewTask

    with session_scope() as s:
        rows = s.execute(
            select(ReviewTask.generation_id, ReviewTask.reason, ReviewTask.slot)
            .where(ReviewTask.run_id == rid)
            .order_by(ReviewTask.generation_id, ReviewTask.slot)
        ).all()
    return [tuple(r) for r in rows]


def test_keyset_pages_and_the_cap(accounts, tmp_path, monkeypatch):
    from backend.core.db import session_scope
    from backend.reviews import routing
    from backend.reviews.schemas import ReviewSettings
    from backend.samples.models import Generation

    _, rid, _, _ = seed_review_run(accounts, tmp_path, items=10, overlap_share=0, reviewers=0, routed=False)
    with session_scope() as s:
        s.execute(update(Generation).where(Generation.run_id == rid).values(accepted=True))
        gids = list(s.scalars(select(Generation.id).where(Generation.run_id == rid).order_by(Generation.id)))

    # every accepted attempt is sampled at share 1: pages of 3 cover all ten, in id order
    monkeypatch.setattr(routing, "PAGE", 3)
    settings = ReviewSettings(uncalibrated_share=1.0, overlap_share=0)
    with session_scope() as s:
        pages = list(
            routing.reason_pages(s, run_id=rid, judge_version=None, settings=settings, calibrated=False)
        )
    assert [len(p) for p in pages] == [3, 3, 3, 1]
    assert [g for p in pages for g, _ in p] == gids and {w for p in pages for _, w in p} == {"sampled_accept"}

    # mixed reasons over several pages, capped at 5: both disagreements, then the rejects, then one unsure
    why = ["sampled_accept", "judge_unsure", "judge_rejected", "disagreement", "judge_unsure",
           "judge_rejected", "disagreement", "sampled_accept", "judge_rejected", "judge_unsure"]  # fmt: skip
    chosen = list(zip(gids, why, strict=True))

    def paged():
        return [chosen[i : i + 3] for i in range(0, len(chosen), 3)]

    with session_scope() as s:
        n = routing.route(s, run_id=rid, pages=paged, settings=ReviewSettings(max_items=5, overlap_share=0))
    assert n == 5
    expected = sorted(
        [(gids[3], "disagreement"), (gids[6], "disagreement"), (gids[2], "judge_rejected"),
         (gids[5], "judge_rejected"), (gids[8], "judge_rejected")]
    )  # fmt: skip
    assert [(g, w) for g, w, _ in _queue(rid)] == expected

    # a re-run adds nothing twice; overlap gives some items a second slot
    with session_scope() as s:
        routing.route(s, run_id=rid, pages=paged, settings=ReviewSettings(max_items=5, overlap_share=0))
    assert len(_queue(rid)) == 5
    _, rid2, _, _ = seed_review_run(accounts, tmp_path, items=40, overlap_share=0, reviewers=0, routed=False)
    with session_scope() as s:
        g2 = list(s.scalars(select(Generation.id).where(Generation.run_id == rid2)))
        n = routing.route(
            s, run_id=rid2, pages=lambda: [[(g, "judge_unsure") for g in g2]],
            settings=ReviewSettings(overlap_share=0.5, seed=1),
        )  # fmt: skip
    slots = _queue(rid2)
    assert n == len(slots) and 40 < n < 80 and {g for g, _, _ in slots} == set(g2)
