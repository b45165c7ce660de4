"""Rollouts: chunk planning, live metrics, the response cache key, prices, estimates, re-queue, export."""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.core.config import get_settings
from backend.core.errors import Conflict, Forbidden, NotFound
from backend.core.pagination import keyset
from backend.prompts.models import Prompt, PromptSet
from backend.rollouts.models import Price, RolloutChunk
from backend.rollouts.schemas import PriceIn, RolloutEstimate, RolloutSettings
from backend.runs.models import Run, RunStage, Status
from backend.samples.models import Generation
from backend.teachers.models import Teacher
from backend.teachers.schemas import runs_locally

log = logging.getLogger(__name__)

# Hosts of the providers the price table knows by name; any other endpoint is "custom".
PROVIDER_HOSTS = {
    "api.openai.com": "openai",
    "api.together.xyz": "together",
    "api.deepseek.com": "deepseek",
    "api.fireworks.ai": "fireworks",
    "openrouter.ai": "openrouter",
    "api.anthropic.com": "anthropic",
    "generativelanguage.googleapis.com": "google",
}


# ---- conversations and the cache key ----------------------------------------------------------


def conversation(
    text: str, system: str | None, messages: list[dict[str, Any]] | None, default_system: str | None
) -> list[dict[str, str]]:
    """The chat a prompt row sends: its own messages if it has them, else system + user text."""
    if messages:
        if default_system and not any(m.get("role") == "system" for m in messages):
            return [{"role": "system", "content": default_system}, *messages]
        return messages
    out = []
    if system or default_system:
        out.append({"role": "system", "content": system or default_system})
    out.append({"role": "user", "content": text})
    return out


def endpoint_of(teacher: Teacher) -> str:
    """What identifies where generations come from, for the cache key."""
    if teacher.base_url:
        return teacher.base_url.rstrip("/")
    return teacher.backend  # a local teacher: the model name carries the rest


def sampling_key(settings: RolloutSettings) -> dict[str, Any]:
    """The settings that change what the teacher writes (not chunking, concurrency or retries)."""
    return settings.model_dump(
        include={"temperature", "top_p", "max_tokens", "seed", "stop", "top_k", "min_p", "system_prompt"}
    )


def cache_prefix(*, project_id: int, teacher: Teacher, settings: RolloutSettings) -> bytes:
    """The part of every cache key that one rollout shares."""
    head = {
        "project": project_id,
        "endpoint": endpoint_of(teacher),
        "model": teacher.model,
        "sampling": sampling_key(settings),
    }
    return orjson.dumps(head, option=orjson.OPT_SORT_KEYS)


def cache_key(prefix: bytes, messages: list[dict[str, str]], attempt: int) -> str:
    """sha256 of (project, endpoint, model, sampling, prompt, attempt index)."""
    h = hashlib.sha256(prefix)
    h.update(orjson.dumps(messages))
    h.update(b"#%d" % attempt)
    return h.hexdigest()


# ---- prices and cost -------------------------------------------------------------------------


def provider_of(teacher: Teacher) -> str:
    """'local' for vllm and transformers_local without an endpoint, else the API's provider name."""
    if runs_locally(teacher.backend, teacher.base_url):
        return "local"
    host = (urlparse(teacher.base_url or "").hostname or "").lower()
    return PROVIDER_HOSTS.get(host, "custom")


@dataclass(frozen=True)
class Quote:
    """Prices that apply to one teacher, and where they came from."""

    input_per_m: float
    output_per_m: float
    gpu_hour: float
    source: str

    def cost(self, *, prompt_tokens: int, completion_tokens: int, gpu_seconds: float) -> float:
        return (
            prompt_tokens * self.input_per_m / 1e6
            + completion_tokens * self.output_per_m / 1e6
            + gpu_seconds * self.gpu_hour / 3600
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "input_per_m": self.input_per_m,
            "output_per_m": self.output_per_m,
            "gpu_hour": self.gpu_hour,
            "source": self.source,
        }


def quote_for(session: Session, *, teacher: Teacher) -> Quote | None:
    """The teacher's own prices (settings price_input_per_m / price_output_per_m / gpu_hour) or the
    price table's row for (provider, model), then (provider, "*"); None when nothing is known."""
    s = teacher.settings or {}
    if any(k in s for k in ("price_input_per_m", "price_output_per_m", "gpu_hour")):
        return Quote(
            float(s.get("price_input_per_m", 0)),
            float(s.get("price_output_per_m", 0)),
            float(s.get("gpu_hour", 0)),
            "teacher settings",
        )
    provider = provider_of(teacher)
    for model in (teacher.model, "*"):
        row = session.scalar(select(Price).where(Price.provider == provider, Price.model == model))
        if row is not None:
            return Quote(row.input_per_m, row.output_per_m, row.gpu_hour, f"price table {provider}/{model}")
    return None


def list_prices(session: Session) -> list[Price]:
    """The whole price table, by provider and model."""
    return list(session.scalars(select(Price).order_by(Price.provider, Price.model)))


def upsert_price(session: Session, *, data: PriceIn) -> Price:
    """Create or replace the price of (provider, model)."""
    row = session.scalar(select(Price).where(Price.provider == data.provider, Price.model == data.model))
    if row is None:
        row = Price(provider=data.provider, model=data.model)
        session.add(row)
    for field in ("input_per_m", "output_per_m", "gpu_hour", "note"):
        setattr(row, field, getattr(data, field))
    session.flush()
    return row


def delete_price(session: Session, *, price_id: int) -> None:
    """Remove one row of the price table, or 404."""
    row = session.get(Price, price_id)
    if row is None:
        raise NotFound(f"price {price_id} not found")
    session.delete(row)
    session.flush()


# ---- planning and metrics --------------------------------------------------------------------


def split_filter(settings: RolloutSettings):
    """The WHERE clause for the split a rollout covers."""
    return True if settings.split == "all" else Prompt.split == settings.split


def plan_chunks(session: Session, *, stage: RunStage, prompt_set_id: int, settings: RolloutSettings) -> int:
    """Cut the prompt set into chunks of chunk_size prompts by position (once per stage); returns the
    number of prompts covered."""
    existing = session.scalar(
        select(func.coalesce(func.sum(RolloutChunk.prompts), 0)).where(RolloutChunk.stage_id == stage.id)
    )
    if session.scalar(select(func.count()).where(RolloutChunk.stage_id == stage.id)):
        return int(existing)
    positions = session.scalars(
        select(Prompt.position)
        .where(Prompt.prompt_set_id == prompt_set_id, split_filter(settings))
        .order_by(Prompt.position)
    )
    total, index, batch = 0, 0, []
    for pos in positions:
        batch.append(pos)
        if len(batch) == settings.chunk_size:
            session.add(_chunk(stage.id, index, batch))
            total, index, batch = total + len(batch), index + 1, []
    if batch:
        session.add(_chunk(stage.id, index, batch))
        total += len(batch)
    session.flush()
    return total


def _chunk(stage_id: int, index: int, positions: list[int]) -> RolloutChunk:
    return RolloutChunk(
        stage_id=stage_id,
        index=index,
        first_position=positions[0],
        last_position=positions[-1],
        prompts=len(positions),
    )


def chunks_of(session: Session, *, stage_id: int) -> list[RolloutChunk]:
    return list(session.scalars(select(RolloutChunk).where(RolloutChunk.stage_id == stage_id)))


def aggregate(session: Session, *, stage: RunStage) -> dict[str, Any]:
    """The stage's live metrics, summed in SQL over its chunks (thousands at a million prompts)."""
    keys = (
        "done",
        "failed",
        "truncated",
        "cached",
        "prompt_tokens",
        "completion_tokens",
        "cost_usd",
        "gpu_seconds",
    )
    of_stage = RolloutChunk.stage_id == stage.id
    row = session.execute(
        select(*(func.coalesce(func.sum(getattr(RolloutChunk, k)), 0) for k in keys)).where(of_stage)
    ).one()
    # PostgreSQL sums bigint columns as numeric: back to int and float here.
    sums = {
        k: (float(v) if k in ("cost_usd", "gpu_seconds") else int(v)) for k, v in zip(keys, row, strict=True)
    }
    failures: Counter[str] = Counter()
    for f in session.scalars(select(RolloutChunk.failures).where(of_stage, RolloutChunk.failed > 0)):
        failures.update(f or {})
    statuses = dict(
        session.execute(
            select(RolloutChunk.status, func.count()).where(of_stage).group_by(RolloutChunk.status)
        ).all()
    )
    cost = sums["cost_usd"]
    started = stage.started_at or datetime.now(UTC)
    elapsed = max((datetime.now(UTC) - started).total_seconds(), 1e-6)
    generated = sums["done"] - sums["cached"]
    return {
        "generations": sums["done"] + sums["failed"],
        "succeeded": sums["done"],
        "failed": sums["failed"],
        "truncated": sums["truncated"],
        "from_cache": sums["cached"],
        "failures": dict(failures.most_common()),
        "prompt_tokens": sums["prompt_tokens"],
        "completion_tokens": sums["completion_tokens"],
        "tokens_per_s": round(sums["completion_tokens"] / elapsed, 1),
        "completions_per_s": round(generated / elapsed, 2),
        "cost_usd": round(cost, 6),
        "gpu_seconds": round(sums["gpu_seconds"], 2),
        "elapsed_s": round(elapsed, 1),
        "chunks": {str(getattr(k, "value", k)): v for k, v in statuses.items()},
    }


def write_progress(session: Session, *, stage: RunStage) -> Status:
    """Store the aggregate on the stage; returns the stage's status (the cancellation check)."""
    metrics = aggregate(session, stage=stage)
    stage.metrics = {**(stage.metrics or {}), **metrics}
    stage.progress_done = metrics["generations"]
    stage.heartbeat_at = datetime.now(UTC)
    return stage.status


# ---- estimate --------------------------------------------------------------------------------


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


# ---- re-queue --------------------------------------------------------------------------------


def requeue_run(session: Session, *, run: Run) -> Run:
    """Send a failed, cancelled or stalled run back to the queue; it generates only what is missing."""
    now = datetime.now(UTC)
    stages = list(
        session.scalars(select(RunStage).where(RunStage.run_id == run.id).order_by(RunStage.position))
    )
    if run.status == Status.succeeded:
        raise Conflict(f"run {run.id} already succeeded", code="run_finished")
    if not run.status.finished and run.status != Status.pending:  # pending: nothing was ever sent
        stale = get_settings().stale_after_s
        beats = [s.heartbeat_at or s.started_at or s.created_at for s in stages if not s.status.finished]
        beats += [
            c.heartbeat_at
            for s in stages
            for c in chunks_of(session, stage_id=s.id)
            if c.status == Status.running and c.heartbeat_at
        ]
        fresh = [b for b in beats if b and (now - b).total_seconds() < stale]
        if fresh:
            age = min((now - b).total_seconds() for b in fresh)
            raise Conflict(
                f"run {run.id} is {run.status.value} and its worker reported {age:.0f} s ago; "
                f"re-queue it once it is finished, or after {stale:.0f} s without a heartbeat",
                code="run_active",
            )
    for stage in stages:
        if stage.status != Status.succeeded:
            stage.status, stage.error, stage.finished_at, stage.task_id = Status.pending, None, None, None
            for chunk in chunks_of(session, stage_id=stage.id):
                if chunk.status != Status.succeeded:
                    chunk.status, chunk.error, chunk.task_id = Status.pending, None, None
    run.status, run.error, run.finished_at = Status.pending, None, None
    session.flush()
    return run


# ---- reading and export ----------------------------------------------------------------------


def list_generations(
    session: Session, *, run: Run, limit: int, cursor: str | None, status: str | None = None
) -> tuple[list[Generation], str | None]:
    """A page of a run's generations, oldest first."""
    stmt = select(Generation).where(Generation.run_id == run.id)
    if status is not None:
        stmt = stmt.where(Generation.status == status)
    rows, nxt = keyset(session, stmt, Generation.id, limit=limit, cursor=cursor, descending=False)
    return list(rows), nxt


def terms_warnings(run: Run) -> list[str]:
    """The run's licence warnings (teachers whose terms restrict training competing models)."""
    return [w for w in (run.warnings or []) if "forbid" in w]


def check_export(*, run: Run, acknowledge_terms: bool) -> None:
    """Exporting for redistribution needs an explicit acknowledgement where the terms restrict it."""
    warnings = terms_warnings(run)
    if warnings and not acknowledge_terms:
        raise Forbidden(
            "this run's teacher has terms that restrict training competing models: "
            + "; ".join(warnings)
            + ". Pass acknowledge_terms=true to export anyway.",
            code="terms_not_acknowledged",
        )


def dataset_card(session: Session, *, run: Run) -> str:
    """A markdown dataset card: source, teacher, sampling, counts and the licence warning."""
    teacher = session.get(Teacher, run.teacher_id) if run.teacher_id else None
    pset = session.get(PromptSet, run.prompt_set_id) if run.prompt_set_id else None
    counts = dict(
        session.execute(
            select(Generation.status, func.count())
            .where(Generation.run_id == run.id)
            .group_by(Generation.status)
        ).all()
    )
    lines = [f"# {run.name}", ""]
    for w in terms_warnings(run):
        lines += [f"> **Licence warning:** {w}. Check the provider's terms before redistributing.", ""]
    lines += [
        f"- prompt set: {pset.name} v{pset.version}" if pset else "- prompt set: (deleted)",
        f"- teacher: {teacher.name} ({teacher.backend}, {teacher.model}, licence {teacher.licence})"
        if teacher
        else "- teacher: (deleted)",
        f"- sampling: {orjson.dumps(run.recipe.get('rollout', {})).decode()}",
        f"- generations: {counts.get('ok', 0)} succeeded, {counts.get('failed', 0)} failed",
        f"- run: {run.id}, recipe version {run.recipe_version}, created {run.created_at:%Y-%m-%d}",
    ]
    return "\n".join(lines) + "\n"


def export_jsonl(*, run_id: int, batch: int = 1000) -> Iterator[bytes]:
    """The run's successful generations with their prompts, one JSON line each, read in keyset
    batches in a session of its own (the response streams after the request's session closed)."""
    from backend.core.db import session_scope

    last = 0
    while True:
        with session_scope() as s:
            rows = s.execute(
                select(Generation, Prompt.text, Prompt.messages, Prompt.reference)
                .join(Prompt, Prompt.id == Generation.prompt_id)
                .where(Generation.run_id == run_id, Generation.status == "ok", Generation.id > last)
                .order_by(Generation.id)
                .limit(batch)
            ).all()
            if not rows:
                return
            out = bytearray()
            for g, text, messages, reference in rows:
                out += orjson.dumps(
                    {
                        "prompt": text,
                        "messages": messages,
                        "reference": reference,
                        "attempt": g.attempt,
                        "reasoning": g.reasoning,
                        "content": g.content,
                        "finish_reason": g.finish_reason,
                        "completion_tokens": g.completion_tokens,
                    }
                )
                out += b"\n"
            last = rows[-1][0].id
        yield bytes(out)
