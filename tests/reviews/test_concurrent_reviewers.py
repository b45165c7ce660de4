"""20 reviewers at once on PostgreSQL, each a thread with its own sessions: no slot is handed to two
reviewers, no reviewer gets both slots of an overlap item, no decision is lost or doubled, expired
leases come back, and the last decision completes the review stage exactly once."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from tests.support.reviews import seed_review_run

pytestmark = [pytest.mark.usefixtures("database"), pytest.mark.slow]  # on PostgreSQL and SQLite; 20 threads


REVIEWERS = 20


def test_twenty_concurrent_reviewers(accounts, tmp_path):
    from backend.core.db import session_scope
    from backend.core.errors import Conflict
    from backend.reviews import queue
    from backend.reviews.models import Review, ReviewTask
    from backend.reviews.schemas import DecisionIn
    from backend.runs.models import Run, RunStage, Status

    pid, rid, people, _ = seed_review_run(
        accounts, tmp_path, items=300, overlap_share=0.3, reviewers=REVIEWERS + 1
    )
    ghost, people = people[0], people[1:]
    with session_scope() as s:
        slots = s.scalar(select(func.count()).where(ReviewTask.run_id == rid))
        overlap = s.scalar(select(func.count()).where(ReviewTask.run_id == rid, ReviewTask.slot == 1))
    assert 300 < slots < 450 and overlap == slots - 300

    # a reviewer who walks away: their leases run out and the items come back to the others
    with session_scope() as s:
        run = s.get(Run, rid)
        abandoned = [queue.claim_next(s, run=run, user_id=ghost).id]
    with session_scope() as s:
        s.execute(update(ReviewTask).where(ReviewTask.id.in_(abandoned))
                  .values(lease_until=datetime.now(UTC) - timedelta(seconds=1)))  # fmt: skip

    def reviewer(uid: int) -> list[int]:
        done = []
        while True:
            with session_scope() as s:
                task = queue.claim_next(s, run=s.get(Run, rid), user_id=uid)
                if task is None:
                    return done
                tid = task.id
            with session_scope() as s:
                queue.decide(s, run=s.get(Run, rid), task_id=tid, user_id=uid,
                             body=DecisionIn(decision="accept" if tid % 3 else "reject"))  # fmt: skip
            done.append(tid)

    with ThreadPoolExecutor(REVIEWERS) as pool:
        results = list(pool.map(reviewer, people))

    decided = [t for r in results for t in r]
    assert len(decided) == slots and len(set(decided)) == slots  # every slot once, none twice
    with session_scope() as s:
        rows = s.execute(select(Review.task_id, Review.generation_id, Review.reviewer_id)
                         .where(Review.run_id == rid)).all()  # fmt: skip
        assert Counter(t for t, _, _ in rows).most_common(1)[0][1] == 1  # one decision per slot
        per_gen = Counter((g, u) for _, g, u in rows)
        assert max(per_gen.values()) == 1  # both slots of an overlap item: two different reviewers
        assert sum(1 for _, _, u in rows if u == ghost) == 0
        stage = s.scalar(select(RunStage).where(RunStage.run_id == rid, RunStage.kind == "review"))
        assert stage.status == Status.succeeded and stage.metrics["decided"] == slots
        assert s.get(Run, rid).status == Status.succeeded
        try:
            queue.decide(
                s,
                run=s.get(Run, rid),
                task_id=abandoned[0],
                user_id=ghost,
                body=DecisionIn(decision="accept"),
            )
            raise AssertionError("a decision on a lost lease must not count")
        except Conflict as exc:
            assert exc.code == "not_leased"
    assert len({u for r, u in zip(results, people, strict=True) if r}) > 1  # the work was shared
