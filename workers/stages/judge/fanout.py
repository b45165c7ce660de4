"""The judge's fan-out hooks: its summary is the sum of its chunks' counters, with the thresholds and
rubric version the stage fixed when it planned."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from backend.runs.chunks import chunk_totals
from backend.runs.models import RunStage
from workers.fanout import Fanout

COUNTERS = (
    "judged",
    "accepted",
    "rejected",
    "unsure",
    "unparseable",
    "verifier_decided",
    "errors",
    "cached",
    "prompt_tokens",
    "completion_tokens",
)


def summarize(session: Session, stage: RunStage) -> dict[str, Any]:
    totals, statuses = chunk_totals(session, stage_id=stage.id)
    fixed = stage.metrics or {}
    return {
        **{k: int(totals.get(k, 0)) for k in COUNTERS},
        "cost_usd": round(float(totals.get("cost_usd", 0.0)), 6),
        "rubric_version": fixed.get("rubric_version", 0),
        "thresholds": fixed.get("thresholds") or {"accept": 0, "reject": 0, "source": "rubric"},
        "elapsed_s": round(stage.running_seconds(), 1),
        "chunks": statuses,
    }


FANOUT = Fanout(kind="judge", summarize=summarize, done_of=lambda m: m["judged"])
