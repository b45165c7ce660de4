"""Tokens, cost and time a rollout would take, before anything is launched."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.prices.service import provider_of, quote_for
from backend.prompts.models import Prompt, PromptSet
from backend.rollouts.metrics import split_filter
from backend.rollouts.schemas import RolloutEstimate, RolloutSettings
from backend.runs.models import Run
from backend.samples.models import Generation
from backend.teachers.models import Teacher


def estimate(
    session: Session, *, project_id: int, prompt_set: PromptSet, teacher: Teacher, settings: RolloutSettings
) -> RolloutEstimate:
    """Tokens, cost and time a rollout would take, from prompt lengths and max_tokens (an upper bound
    for output), before anything is launched."""
    stmt = select(func.count(), func.coalesce(func.sum(func.length(Prompt.text)), 0)).where(
        Prompt.prompt_set_id == prompt_set.id, split_filter(settings)
    )
    prompts, chars = session.execute(stmt).one()
    attempts = prompts * settings.n
    basis = [f"{prompts} prompts in split {settings.split!r} x n={settings.n}"]
    input_tokens = int(chars / 4 + prompts * 8) * settings.n  # ~4 characters a token, plus the template
    basis.append("input: about 4 characters per token, once per attempt")
    past = session.execute(
        select(func.avg(Generation.completion_tokens), func.avg(Generation.latency_ms))
        .join(Run, Run.id == Generation.run_id)
        .where(Run.teacher_id == teacher.id, Generation.status == "ok", Generation.from_cache.is_(False))
    ).one()
    if past[0]:
        per = min(float(past[0]), settings.max_tokens)
        basis.append(f"output: this teacher's mean of {per:.0f} tokens per attempt in earlier runs")
    else:
        per = float(settings.max_tokens)
        basis.append("output: max_tokens per attempt (an upper bound; no earlier runs of this teacher)")
    output_tokens = int(per * attempts)
    seconds = None
    if past[1]:
        seconds = round(attempts * float(past[1]) / 1000 / settings.concurrency, 1)
        basis.append(f"time: mean latency {float(past[1]):.0f} ms at concurrency {settings.concurrency}")
    quote = quote_for(session, teacher=teacher)
    cost = None
    if quote is not None:
        gpu_s = seconds or 0.0
        cost = round(
            quote.cost(prompt_tokens=input_tokens, completion_tokens=output_tokens, gpu_seconds=gpu_s), 4
        )
        basis.append(f"cost: {quote.source}")
    else:
        basis.append(f"cost: no price for {provider_of(teacher)}/{teacher.model}; add one under /api/prices")
    return RolloutEstimate(
        prompts=prompts,
        attempts=attempts,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=cost,
        seconds=seconds,
        price=quote.as_dict() if quote else None,
        basis=basis,
    )
