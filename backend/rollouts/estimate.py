"""Tokens, cost and time a rollout would take, before anything is launched.

Output is bounded by max_tokens as the rollout will send it (requests.resolve_max_tokens: set in the
rollout, else the teacher's context length, else a default); the response says which and why.

Time per attempt, best source first (the response's `seconds_source`): this teacher's mean latency in
earlier runs; else its last speed probe (the teacher_probe job, per output token); else other teachers
of the same backend in this project, per output token; else the backend's default speed below, which
is assumed, not measured. Attempts run in waves of the recipe's concurrency, and a vllm teacher whose
server the worker starts adds its start-up once: the probe's measured one where it has it, else the
constant below.
"""

from __future__ import annotations

import math

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.prices.service import provider_of, rollout_quote
from backend.prompts.models import Prompt, PromptSet
from backend.rollouts.metrics import split_filter
from backend.rollouts.requests import resolve_max_tokens
from backend.rollouts.schemas import RolloutEstimate, RolloutSettings, TeacherEstimate
from backend.runs.models import Run
from backend.samples.models import Generation
from backend.teachers.models import Teacher
from backend.teachers.routing import route_of
from backend.teachers.schemas import TeacherProbe

# Output tokens per second of one request when nothing was measured here yet (no run, no probe): an
# ASSUMPTION, not a measurement. An OpenAI-compatible API and a vLLM server decode about this fast per
# stream; transformers in-process is far slower. The probe (POST .../teachers/{id}/probe) measures it.
DEFAULT_TOKENS_PER_S = {"openai_compat": 50.0, "vllm": 30.0, "transformers_local": 5.0}
# vLLM's start-up (engine, model load, warm-up) measured with the CPU build and the tiny model; a GPU
# host loading a large model takes minutes.
VLLM_STARTUP_S = 28.0


def usable_probe(teacher: Teacher) -> TeacherProbe | None:
    """The teacher's last probe, where it measured something (a failed probe has no speed)."""
    if not teacher.probe:
        return None
    probe = TeacherProbe.model_validate(teacher.probe)
    return probe if probe.tokens_per_s else None


def _seconds_per_attempt(
    session: Session,
    project_id: int,
    teacher: Teacher,
    own_latency_ms,
    tokens: float,
    probe: TeacherProbe | None,
) -> tuple[float, str, str]:
    """(seconds, source, why) for one attempt of `tokens` output tokens."""
    if own_latency_ms:
        ms = float(own_latency_ms)
        return ms / 1000, "teacher", f"this teacher's mean latency of {ms:.0f} ms in earlier runs"
    if probe is not None and probe.tokens_per_s:  # usable_probe's: it has a speed
        rate = float(probe.tokens_per_s)
        when = probe.measured_at.strftime("%Y-%m-%d %H:%M UTC")
        why = f"measured by the probe at {when}: {rate:.1f} tokens/s per request"
        return tokens / rate, "probe", why
    ms_per_token = session.scalar(
        select(func.sum(Generation.latency_ms) / func.sum(Generation.completion_tokens))
        .join(Run, Run.id == Generation.run_id)
        .join(Teacher, Teacher.id == Run.teacher_id)
        .where(
            Run.project_id == project_id,
            Teacher.backend == teacher.backend,
            Generation.status == "ok",
            Generation.from_cache.is_(False),
            Generation.completion_tokens > 0,
        )
    )
    if ms_per_token:
        rate = 1000 / float(ms_per_token)
        why = f"{rate:.0f} tokens/s per request, measured on other {teacher.backend} teachers here"
        return tokens / rate, "backend", why
    rate = DEFAULT_TOKENS_PER_S.get(teacher.backend, 50.0)
    why = (
        f"{rate:.0f} tokens/s per request, the {teacher.backend} default: assumed, not measured "
        "(no run or probe of it here yet; run the probe)"
    )
    return tokens / rate, "default", why


def estimate(
    session: Session,
    *,
    project_id: int,
    prompt_set: PromptSet,
    teacher: Teacher,
    settings: RolloutSettings,
    counted: tuple[int, int] | None = None,
) -> RolloutEstimate:
    """Tokens, cost and time a rollout would take, from prompt lengths and max_tokens (an upper bound
    for output), before anything is launched. `counted`: (prompts, characters) where the caller counted
    them (a routed teacher's share of the prompts)."""
    if counted is None:
        stmt = select(func.count(), func.coalesce(func.sum(func.length(Prompt.text)), 0)).where(
            Prompt.prompt_set_id == prompt_set.id, split_filter(settings)
        )
        prompts, chars = session.execute(stmt).one()
    else:
        prompts, chars = counted
    attempts = prompts * settings.n
    basis = [f"{prompts} prompts in split {settings.split!r} x n={settings.n}"]
    input_tokens = int(chars / 4 + prompts * 8) * settings.n  # ~4 characters a token, plus the template
    basis.append("input: about 4 characters per token, once per attempt")
    past = session.execute(
        select(func.avg(Generation.completion_tokens), func.avg(Generation.latency_ms))
        .join(Run, Run.id == Generation.run_id)
        .where(Run.teacher_id == teacher.id, Generation.status == "ok", Generation.from_cache.is_(False))
    ).one()
    cap = resolve_max_tokens(settings, teacher)
    basis.append(f"max_tokens: {cap.value}, {cap.source} ({cap.detail})")
    if past[0]:
        per = min(float(past[0]), cap.value)
        basis.append(f"output: this teacher's mean of {per:.0f} tokens per attempt in earlier runs")
    else:
        per = float(cap.value)
        basis.append("output: max_tokens per attempt (an upper bound; no earlier runs of this teacher)")
    output_tokens = int(per * attempts)
    probe = usable_probe(teacher)
    per_attempt_s, source, why = _seconds_per_attempt(session, project_id, teacher, past[1], per, probe)
    waves = math.ceil(attempts / settings.concurrency) if attempts else 0
    startup, startup_why = 0.0, ""
    if teacher.backend == "vllm" and not teacher.base_url:
        if probe is not None and probe.startup_s is not None:
            startup = probe.startup_s
            startup_why = "measured by the probe on a worker here"
        else:
            startup = VLLM_STARTUP_S
            startup_why = "the CPU build with the tiny model; assumed for this model (run the probe)"
    seconds = round(waves * per_attempt_s + startup, 1)
    basis.append(
        f"time: {why}, {waves} waves of up to {settings.concurrency} attempts (the recipe's concurrency)"
    )
    if startup:
        basis.append(f"time: plus {startup:.0f} s for the worker to start vLLM ({startup_why})")
    quote = rollout_quote(session, teacher=teacher, settings=settings)
    if settings.mode == "batch":
        basis.append("time: batch mode; the provider answers within its 24-hour window, often sooner")
    cost = None
    if quote is not None:
        gpu_s = seconds
        cost = round(
            quote.cost(prompt_tokens=input_tokens, completion_tokens=output_tokens, gpu_seconds=gpu_s), 4
        )
        basis.append(f"cost: {quote.source}")
    else:
        basis.append(f"cost: no price for {provider_of(teacher)}/{teacher.model}; add one under /api/prices")
    if settings.smoke is not None and prompts:
        k = min(settings.smoke.prompts, prompts)
        part = f", about ${cost * k / prompts:.4f} of the cost" if cost is not None else ""
        floor = settings.smoke.min_accept
        basis.append(f"smoke: {k} prompts ({k * settings.n} attempts) first{part}; the rest only at or "
                     f"above {floor:g} acceptance, or once a maintainer says continue")  # fmt: skip
    return RolloutEstimate(
        prompts=prompts,
        attempts=attempts,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=cost,
        seconds=seconds,
        seconds_source=source,
        max_tokens=cap.value,
        max_tokens_source=cap.source,
        startup_s=startup,
        price=quote.as_dict() if quote else None,
        basis=basis,
    )


def estimate_routed(
    session: Session,
    *,
    project_id: int,
    prompt_set: PromptSet,
    teachers: list[Teacher],
    settings: RolloutSettings,
) -> RolloutEstimate:
    """The estimate of a rollout whose prompts are routed to several teachers (rollout.teachers): each
    teacher's share estimated as a rollout of its own (its speed, its prices), then summed; the time is
    the slowest teacher's, since a chunk asks its teachers at once. teachers[0] is the default route."""
    by_id = {t.id: t for t in teachers}
    shares: dict[int, list[int]] = {t.id: [0, 0] for t in teachers}  # teacher -> [prompts, characters]
    stmt = (
        select(Prompt.meta, func.length(Prompt.text))
        .where(Prompt.prompt_set_id == prompt_set.id, split_filter(settings))
        .execution_options(yield_per=5000)
    )
    for meta, length in session.execute(stmt):
        share = shares[route_of(settings.teachers, meta, teachers[0].id)]
        share[0] += 1
        share[1] += length or 0
    parts = [
        (by_id[tid], estimate(session, project_id=project_id, prompt_set=prompt_set, teacher=by_id[tid],
                              settings=settings, counted=(share[0], share[1])))
        for tid, share in shares.items()
    ]  # fmt: skip
    head = parts[0][1]
    costs = [e.cost_usd for _, e in parts if e.attempts]
    basis = [f"routed: {len(parts)} teachers (rollout.teachers); each share estimated on its own, summed, "
             "the time the slowest's"]  # fmt: skip
    for t, e in parts:
        basis += [f"{t.name}: {b}" for b in e.basis]
    return head.model_copy(
        update={
            "prompts": sum(e.prompts for _, e in parts),
            "attempts": sum(e.attempts for _, e in parts),
            "input_tokens": sum(e.input_tokens for _, e in parts),
            "output_tokens": sum(e.output_tokens for _, e in parts),
            "cost_usd": None if any(c is None for c in costs) else round(sum(c or 0.0 for c in costs), 4),
            "seconds": max(e.seconds for _, e in parts),
            "startup_s": max(e.startup_s for _, e in parts),
            "basis": basis,
            "teachers": [
                TeacherEstimate(
                    teacher_id=t.id,
                    name=t.name,
                    prompts=e.prompts,
                    attempts=e.attempts,
                    output_tokens=e.output_tokens,
                    cost_usd=e.cost_usd,
                    seconds=e.seconds,
                )
                for t, e in parts
            ],  # fmt: skip
        }
    )
