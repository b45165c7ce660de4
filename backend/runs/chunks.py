"""A fan-out stage's chunks: planning them once, and summing their counters into the stage's metrics.

Status changes of chunks belong to backend/runs/lifecycle.py; claiming and settling them to
workers/fanout.py.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from backend.runs.models import StageChunk


def plan_chunks(session: Session, *, stage_id: int, positions: Select, chunk_size: int) -> int:
    """Cut the ascending keys that `positions` selects into chunks of chunk_size, once per stage;
    returns the number of items covered (also on a second call, which plans nothing)."""
    planned = session.execute(
        select(func.count(), func.coalesce(func.sum(StageChunk.items), 0)).where(
            StageChunk.stage_id == stage_id
        )
    ).one()
    if planned[0]:
        return int(planned[1])
    total, index, batch = 0, 0, []
    for pos in session.scalars(positions):
        batch.append(pos)
        if len(batch) == chunk_size:
            session.add(_chunk(stage_id, index, batch))
            total, index, batch = total + len(batch), index + 1, []
    if batch:
        session.add(_chunk(stage_id, index, batch))
        total += len(batch)
    session.flush()
    return total


def _chunk(stage_id: int, index: int, positions: list[int]) -> StageChunk:
    return StageChunk(
        stage_id=stage_id,
        index=index,
        first_position=positions[0],
        last_position=positions[-1],
        items=len(positions),
        counters={},
    )


def add_counters(into: dict[str, Any], more: dict[str, Any]) -> dict[str, Any]:
    """Numbers add up; a dict of numbers adds up key by key. Returns a new dict."""
    out = dict(into)
    for k, v in more.items():
        if isinstance(v, dict):
            out[k] = dict(Counter(out.get(k) or {}) + Counter(v))
        else:
            out[k] = out.get(k, 0) + v
    return out


def chunk_totals(session: Session, *, stage_id: int) -> tuple[dict[str, Any], dict[str, int]]:
    """The stage's counters summed over its chunks, and its chunks counted by status. Reads one small
    row per chunk: thousands at a million prompts, never the stage's own rows."""
    sums: dict[str, Any] = {}
    statuses: Counter[str] = Counter()
    for status, counters in session.execute(
        select(StageChunk.status, StageChunk.counters).where(StageChunk.stage_id == stage_id)
    ):
        statuses[status.value] += 1
        if counters:
            sums = add_counters(sums, counters)
    return sums, dict(statuses)
