"""The filter's fan-out hooks: its summary is the sum of its chunks' counters, with the rollout's cost
divided by the attempts that survived."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from backend.runs.chunks import chunk_totals
from backend.runs.models import Run, RunStage
from backend.verifiers.filter import PASS_RATE_BUCKETS, VerdictCounts
from workers.fanout import Fanout


def summarize(session: Session, stage: RunStage) -> dict[str, Any]:
    totals, statuses = chunk_totals(session, stage_id=stage.id)
    run = session.get_one(Run, stage.run_id)
    rollout = (run.summary or {}).get("rollout") or {}
    verified, accepted = int(totals.get("verified", 0)), int(totals.get("accepted", 0))
    cost, gpu = float(rollout.get("cost_usd") or 0.0), float(rollout.get("gpu_seconds") or 0.0)
    elapsed = max(stage.running_seconds(), 1e-6)
    hist = totals.get("pass_rate_histogram") or {}
    return {
        "verified": verified,
        "accepted": accepted,
        "rejected": int(totals.get("rejected", 0)),
        "undecided": int(totals.get("undecided", 0)),
        "acceptance_rate": round(accepted / verified, 4) if verified else 0.0,
        "by_verifier": {
            k[2:]: VerdictCounts(**v).model_dump() for k, v in sorted(totals.items()) if k.startswith("v:")
        },
        "prompts": int(totals.get("prompts", 0)),
        "prompts_solved": int(totals.get("prompts_solved", 0)),
        "pass_rate_histogram": {b: int(hist.get(b, 0)) for b in PASS_RATE_BUCKETS},
        "cost_usd": round(cost, 6),
        "cost_per_accepted_usd": round(cost / accepted, 6) if accepted else None,
        "gpu_seconds_per_accepted": round(gpu / accepted, 4) if accepted else None,
        "verified_per_s": round(verified / elapsed, 1),
        "elapsed_s": round(elapsed, 1),
        "chunks": statuses,
    }


FANOUT = Fanout(kind="filter", summarize=summarize, done_of=lambda m: m["verified"])
