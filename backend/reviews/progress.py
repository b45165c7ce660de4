"""The review stage's live progress: slots decided of slots routed, written on its run_stages row as
decisions land.

Each decision adds one to its reviewer's row of review_counts (undo takes it back), in the decision's
own transaction, so the count is exact and simultaneous decisions of different reviewers never wait
on one counter row (a shared row would serialise every decision behind the one before's commit).
The stage row gets the sum at most once per `progress_interval_s`, by whichever decision finds it
unlocked (SKIP LOCKED: nobody waits for it either); the stage's completion writes the final figure.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from backend.core.config import get_settings
from backend.core.db import dialect_insert
from backend.reviews.models import ReviewCount, ReviewTask
from backend.runs.models import RunStage, Status

_C = ReviewCount.__table__
_S = RunStage.__table__
_target = _S.alias("target")

_DECIDED = select(func.coalesce(func.sum(_C.c.decided), 0)).where(_C.c.run_id == bindparam("run"))
_WRITE = (
    update(_S)
    .where(
        _S.c.id
        == select(_target.c.id)
        .where(
            _target.c.run_id == bindparam("run"),
            _target.c.kind == "review",
            _target.c.status == Status.running,
            or_(_target.c.heartbeat_at.is_(None), _target.c.heartbeat_at <= bindparam("stale")),
        )
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    .values(progress_done=_DECIDED.scalar_subquery(), heartbeat_at=bindparam("now"))
)
_LEFT = select(_S.c.status, _S.c.progress_total, _DECIDED.scalar_subquery().label("decided")).where(
    _S.c.run_id == bindparam("run"), _S.c.kind == "review"
)


@cache
def _count_stmt(dialect: str):
    stmt = dialect_insert(dialect)(_C).values(
        run_id=bindparam("run"), reviewer_id=bindparam("user"), decided=bindparam("delta")
    )
    return stmt.on_conflict_do_update(
        index_elements=[_C.c.run_id, _C.c.reviewer_id], set_={"decided": _C.c.decided + stmt.excluded.decided}
    )


def count(session: Session, *, run_id: int, reviewer_id: int, delta: int) -> None:
    """One more (delta 1) or one fewer (-1, an undo) slot decided by this reviewer."""
    conn = session.connection()
    conn.execute(_count_stmt(conn.dialect.name), {"run": run_id, "user": reviewer_id, "delta": delta})


def decided(session: Session, *, run_id: int) -> int:
    return int(session.connection().execute(_DECIDED, {"run": run_id}).scalar_one())


_last_write: dict[int, float] = {}  # run id -> when this process last wrote (monotonic)


def write(session: Session, *, run_id: int, now: datetime, force: bool = False) -> None:
    """Put the decided count on the running review stage, unless it was written within the interval
    (force: always) or another decision is writing it right now. This process skips the statement
    while its own last write is that fresh; the row's heartbeat_at throttles across processes."""
    interval = 0.0 if force else get_settings().progress_interval_s
    tick = time.monotonic()
    if tick - _last_write.get(run_id, float("-inf")) < interval:
        return
    _last_write[run_id] = tick
    session.connection().execute(
        _WRITE, {"run": run_id, "now": now, "stale": now - timedelta(seconds=interval)}
    )


def routed(session: Session, *, run_id: int) -> tuple[int, int]:
    """(slots decided, slots in the queue), counted once when the stage fills the queue."""
    total = session.scalar(select(func.count()).where(ReviewTask.run_id == run_id))
    return decided(session, run_id=run_id), int(total or 0)


def left(session: Session, *, run_id: int) -> int:
    """Slots nobody decided yet while the review stage waits (0 once it finished)."""
    stage = session.connection().execute(_LEFT, {"run": run_id}).first()  # one round trip
    if stage is None or stage.progress_total is None or Status(stage.status).finished:
        return 0
    return max(stage.progress_total - stage.decided, 0)
