"""What a reviewer sees of a claimed item: the prompt, the reference, the attempt and its verdicts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.datasets.admission import refusal
from backend.prompts.models import Prompt
from backend.reviews.schemas import ItemOut
from backend.rollouts.requests import conversation
from backend.samples.models import Generation, Verdict


def item_out(session: Session, task: Any, run: Any) -> ItemOut:
    """`task`: a review_tasks row or ReviewTask (anything with its columns as attributes); `run`: a Run
    or queue.review_run's row (its recipe is read)."""
    g = session.execute(
        select(
            Generation.id,
            Generation.content,
            Generation.reasoning,
            Generation.finish_reason,
            Prompt.text,
            Prompt.system,
            Prompt.messages,
            Prompt.reference,
        )
        .join(Prompt, Prompt.id == Generation.prompt_id)
        .where(Generation.id == task.generation_id)
    ).one()
    system = ((run.recipe or {}).get("rollout") or {}).get("system_prompt")
    verdicts = [
        dict(v._mapping)
        for v in session.execute(
            select(
                Verdict.verifier,
                Verdict.verifier_version.label("version"),
                Verdict.status,
                Verdict.passed,
                Verdict.score,
                Verdict.detail,
            )
            .where(Verdict.generation_id == g.id)
            .order_by(Verdict.id)
        )
    ]
    return ItemOut(
        task_id=task.id,
        run_id=task.run_id,
        generation_id=g.id,
        reason=task.reason,
        lease_until=task.lease_until,
        prompt=conversation(g.text, g.system, g.messages, system),
        reference=g.reference,
        reasoning=g.reasoning,
        content=g.content,
        verdicts=verdicts,
        not_admissible=refusal(reasoning=g.reasoning, content=g.content, finish_reason=g.finish_reason),
    )
