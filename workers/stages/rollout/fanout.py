"""The rollout's fan-out hooks: its live metrics are the sum of its chunks' counters."""

from __future__ import annotations

from backend.rollouts.metrics import aggregate, failure_cause
from backend.rollouts.schemas import RolloutSettings
from workers.fanout import Fanout


def _failure_of(_session, _stage, run, metrics) -> str | None:
    return failure_cause(metrics, RolloutSettings.model_validate((run.recipe or {}).get("rollout") or {}))


FANOUT = Fanout(
    kind="rollout",
    summarize=lambda session, stage: aggregate(session, stage=stage),
    done_of=lambda metrics: metrics["generations"] + metrics["attempts_skipped"],
    failure_of=_failure_of,
)
