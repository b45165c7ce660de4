"""The rollout's smoke sample (rollout.smoke): a seeded sample of prompts rolled out and judged first.

The sample is one more chunk of the rollout stage (index SMOKE_INDEX, before the planned ones, holding
no items of its own: its prompts are also in the planned chunks, whose tasks ask only for what is
missing, so nothing is asked twice). While it runs, the planned chunks stay pending; once it is
judged (workers/stages/rollout/smoke.py) its result is stored on the stage's metrics (`smoke`,
RolloutSummary's SmokeResult) and, at or above the floor, the planned chunks are queued (release_rest).
Below it the stage waits for a decision: pending chunks and no worker, which the janitor leaves alone
(lifecycle.stalled), and a cancel ends at once (lifecycle.awaits_decision). `decide` is the API's and
the CLI's way out. Kept in backend so the API, the CLI and the worker share it.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core import queue
from backend.core.errors import Conflict
from backend.prompts.models import Prompt
from backend.rollouts.metrics import covered_positions
from backend.rollouts.schemas import RolloutSettings, SmokeResult
from backend.runs import lifecycle
from backend.runs.models import Run, RunStage, StageChunk, Status
from backend.runs.stages import stage_kind
from backend.samples.models import Generation, Verdict

SMOKE_INDEX = -1  # the sample's chunk: first in index order, apart from the planned 0..k
SHOWN = 8  # sample verdicts kept on the stage
EXCERPT = 300


def sample_positions(session: Session, *, run: Run, settings: RolloutSettings) -> list[int]:
    """The sample's prompt positions, ascending: `smoke.prompts` of the covered ones, drawn with the
    rollout's seed (0 when unset), so the same recipe on the same prompt set draws the same sample."""
    if settings.smoke is None:
        raise ValueError("sample_positions: the rollout has no smoke settings")
    positions = list(session.scalars(covered_positions(run.prompt_set_id, settings)))
    k = min(settings.smoke.prompts, len(positions))
    rng = random.Random(settings.seed if settings.seed is not None else 0)
    return sorted(rng.sample(positions, k))


def sample_chunk(session: Session, *, stage: RunStage, run: Run, settings: RolloutSettings) -> StageChunk:
    """The stage's sample chunk, added once (after the planned chunks, which plan_chunks plans once)."""
    chunk = session.scalar(
        select(StageChunk).where(StageChunk.stage_id == stage.id, StageChunk.index == SMOKE_INDEX)
    )
    if chunk is None:
        sample = sample_positions(session, run=run, settings=settings)
        chunk = StageChunk(
            stage_id=stage.id,
            index=SMOKE_INDEX,
            first_position=sample[0],
            last_position=sample[-1],
            items=0,  # its prompts are counted in the planned chunks
            counters={},
        )
        session.add(chunk)
        session.flush()
    return chunk


def decision_of(stage: RunStage) -> str | None:
    """The sample's decision stored on the stage (SmokeResult.decision); None before it is judged."""
    return ((stage.metrics or {}).get("smoke") or {}).get("decision")


def result(session: Session, *, run_id: int, prompt_ids: list[int], min_accept: float) -> dict[str, Any]:
    """The judged sample's SmokeResult: counts, acceptance against the floor, the decision it implies
    (passed or pending), and a few attempts with each verifier's reason, rejected ones first."""
    of_sample = (Generation.run_id == run_id, Generation.prompt_id.in_(prompt_ids))
    rows = session.execute(
        select(Generation.id, Generation.prompt_id, Generation.attempt, Generation.accepted,
               Generation.content, Generation.error, Generation.status)
        .where(*of_sample)
        .order_by(Generation.prompt_id, Generation.attempt)
    ).all()  # fmt: skip
    accepted = sum(1 for r in rows if r.accepted)
    # over the answered attempts only: a request the teacher failed says nothing of the data, so a flaky
    # provider does not pull the sample under its floor (none answered: nothing measured, people decide)
    answered = sum(1 for r in rows if r.status != "failed")
    acceptance = accepted / answered if answered else 0.0
    shown = sorted(rows, key=lambda r: (r.accepted is True, r.prompt_id, r.attempt))[:SHOWN]
    reasons: dict[int, list[dict[str, Any]]] = {r.id: [] for r in shown}
    for gid, verifier, status, detail in session.execute(
        select(Verdict.generation_id, Verdict.verifier, Verdict.status, Verdict.detail)
        .where(Verdict.generation_id.in_(list(reasons)))
        .order_by(Verdict.id)
    ):
        reasons[gid].append({"verifier": verifier, "status": status, "reason": _reason(detail)})
    return SmokeResult(
        prompts=len(prompt_ids),
        attempts=len(rows),
        accepted=accepted,
        acceptance=round(acceptance, 4),
        min_accept=min_accept,
        decision="passed" if answered and acceptance >= min_accept else "pending",
        verdicts=[
            {
                "generation_id": r.id,
                "prompt_id": r.prompt_id,
                "attempt": r.attempt,
                "accepted": r.accepted,
                "excerpt": (r.content if r.content is not None else f"(failed: {r.error or ''})")[:EXCERPT],
                "reasons": reasons[r.id],
            }
            for r in shown
        ],
    ).model_dump(mode="json")


def _reason(detail: Any) -> str | None:
    """A verifier's detail, short: its reason or error where it names one, else its fields."""
    if not isinstance(detail, dict) or not detail:
        return None
    for key in ("reason", "error", "message"):
        if isinstance(detail.get(key), str):
            return detail[key][:200]
    return ", ".join(f"{k}: {v}" for k, v in detail.items())[:200]


def sample_prompt_ids(session: Session, *, run: Run, settings: RolloutSettings) -> list[int]:
    positions = sample_positions(session, run=run, settings=settings)
    return list(
        session.scalars(
            select(Prompt.id).where(Prompt.prompt_set_id == run.prompt_set_id, Prompt.position.in_(positions))
        )
    )


def release_rest(session: Session, *, stage: RunStage, run: Run) -> list[int]:
    """Queue the planned chunks (the sample passed, or a maintainer said continue) and send their
    tasks; commits first, as every send does. The sample's chunk keeps only the money it spent: the
    planned chunks count every stored attempt of their prompts (the writer's start), the sample's too."""
    sample = session.scalar(
        select(StageChunk).where(StageChunk.stage_id == stage.id, StageChunk.index == SMOKE_INDEX)
    )
    if sample is not None:
        sample.counters = {
            k: v for k, v in (sample.counters or {}).items() if k in ("cost_usd", "gpu_seconds")
        }
    ids = lifecycle.queue_chunks(session, stage_id=stage.id)
    stage.heartbeat_at = datetime.now(UTC)  # the janitor's re-send counts from here
    kind = stage_kind(stage.kind)
    to = kind.chunk_queue(session, run) if kind.chunk_queue else kind.queue
    session.commit()
    task = kind.chunk_task
    if task is None:
        raise TypeError(f"stage kind {stage.kind} has no chunk task")
    for chunk_id in ids:
        queue.send(task, [stage.id, chunk_id], queue=to)
    return ids


def decide(session: Session, *, run: Run, decision: str) -> Run:
    """A maintainer's decision on a sample below its floor: continue (the rest is asked for) or cancel
    (the run is cancelled). 409 when the run's rollout waits for no decision. The stage row is locked
    first, so of two decisions at once the second finds none pending."""
    stage = session.scalar(
        select(RunStage)
        .where(RunStage.run_id == run.id, RunStage.kind == "rollout")
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    session.refresh(run)
    if (
        stage is None
        or not lifecycle.awaits_decision(stage)
        or stage.status != Status.running
        or run.status.finished
    ):
        raise Conflict(f"run {run.id} has no smoke sample waiting for a decision", code="no_decision_pending")
    smoke = dict((stage.metrics or {})["smoke"])
    if decision == "cancel":
        lifecycle.cancel_run(session, run=run)  # ends a stage that awaits a decision at once; commits
        stage.metrics = {**(stage.metrics or {}), "smoke": {**smoke, "decision": "cancelled"}}
        session.commit()
        return run
    stage.metrics = {**(stage.metrics or {}), "smoke": {**smoke, "decision": "continued"}}
    release_rest(session, stage=stage, run=run)
    return run
