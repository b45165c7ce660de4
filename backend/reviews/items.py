"""What a reviewer sees of a claimed item: the prompt, the reference, the attempt and its verdicts."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.prompts.models import Prompt
from backend.reviews.models import ReviewTask
from backend.reviews.schemas import ItemOut
from backend.rollouts.requests import conversation
from backend.runs.models import Run
from backend.samples.models import Generation, Verdict


def item_out(session: Session, task: ReviewTask) -> ItemOut:
    g = session.get(Generation, task.generation_id)
    p = session.get(Prompt, g.prompt_id)
    run = session.get(Run, task.run_id)
    system = ((run.recipe or {}).get("rollout") or {}).get("system_prompt")
    verdicts = [
        {
            "verifier": v.verifier,
            "version": v.verifier_version,
            "status": v.status,
            "passed": v.passed,
            "score": v.score,
            "detail": v.detail,
        }
        for v in session.scalars(select(Verdict).where(Verdict.generation_id == g.id).order_by(Verdict.id))
    ]
    return ItemOut(
        task_id=task.id,
        run_id=task.run_id,
        generation_id=g.id,
        reason=task.reason,
        lease_until=task.lease_until,
        prompt=conversation(p.text, p.system, p.messages, system),
        reference=p.reference,
        reasoning=g.reasoning,
        content=g.content,
        verdicts=verdicts,
    )
