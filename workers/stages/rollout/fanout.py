"""The rollout's fan-out hooks: its live metrics are the sum of its chunks' counters."""

from __future__ import annotations

from backend.rollouts.metrics import aggregate
from workers.fanout import Fanout

FANOUT = Fanout(
    kind="rollout",
    summarize=lambda session, stage: aggregate(session, stage=stage),
    done_of=lambda metrics: metrics["generations"] + metrics["attempts_skipped"],
)
