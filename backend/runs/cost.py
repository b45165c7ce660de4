"""What a run's teacher cost, and per accepted trace: one definition for the run page (RunOut's
cost fields) and the dataset card, so the two never disagree. The teacher is paid for the rollout's
attempts and for the judge's calls alike; a trace is accepted by the filter."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def teacher_cost_usd(summary: Mapping[str, Any] | None) -> float:
    """The rollout's and the judge's cost so far, in dollars (0 before either ran)."""
    summary = summary or {}
    return sum(float((summary.get(kind) or {}).get("cost_usd") or 0.0) for kind in ("rollout", "judge"))


def cost_per_accepted_usd(summary: Mapping[str, Any] | None) -> float | None:
    """The teacher's cost over the attempts the filter accepted; None before any was accepted."""
    accepted = int(((summary or {}).get("filter") or {}).get("accepted") or 0)
    return round(teacher_cost_usd(summary) / accepted, 6) if accepted else None
