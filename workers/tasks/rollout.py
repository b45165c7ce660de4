"""The rollout stage: the teacher writes n attempts per prompt.

The stage task cuts the prompt set into chunks and sends one Celery task per chunk; each chunk task
asks the teacher for the attempts its prompts are missing and writes them in batches with
ON CONFLICT on (run, prompt, attempt), so a retried, duplicated or re-queued task never duplicates a
row and only a failed attempt is ever overwritten. The last chunk to finish completes the stage.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from backend.core.config import get_settings
from backend.core.db import session_scope
from backend.core.errors import Invalid
from backend.prompts.models import Prompt
from backend.rollouts import service
from backend.rollouts.models import RolloutChunk
from backend.rollouts.schemas import RolloutSettings
from backend.runs.models import Run, RunStage, Status
from backend.teachers.models import Teacher
from backend.teachers.service import api_key_of
from workers.celery_app import celery_app
from workers.progress import Cancelled
from workers.rollout_writer import GenerationWriter, Row
from workers.stage_runner import DEFERRED, StageContext, complete_stage, finish_stage, run_stage
from workers.teachers.base import Completion, Request, Sampling
from workers.teachers.factory import TeacherSpec, make_teacher

log = logging.getLogger(__name__)
CHUNK_TASK = "distillery.rollout.chunk"
FLUSH_ROWS = 256


def sampling_of(settings: RolloutSettings) -> Sampling:
    return Sampling(
        temperature=settings.temperature,
        top_p=settings.top_p,
        max_tokens=settings.max_tokens,
        seed=settings.seed,
        stop=tuple(settings.stop) if settings.stop else None,
        top_k=settings.top_k,
        min_p=settings.min_p,
    )


def _spec(teacher: Teacher) -> TeacherSpec:
    return TeacherSpec(
        teacher.backend, teacher.model, teacher.base_url, api_key_of(teacher), teacher.settings
    )


# ---- the stage task: plan and dispatch ---------------------------------------------------------


def plan_and_dispatch(ctx: StageContext) -> None:
    """Plan the chunks (once), then queue a task for every chunk not yet done."""
    settings = RolloutSettings.model_validate(ctx.recipe.get("rollout", {}))
    with session_scope() as s:
        stage, run = s.get(RunStage, ctx.stage_id), s.get(Run, ctx.run_id)
        teacher = s.get(Teacher, run.teacher_id) if run.teacher_id else None
        if teacher is None:
            raise Invalid("the run's teacher no longer exists", code="teacher_missing")
        prompts = service.plan_chunks(s, stage=stage, prompt_set_id=run.prompt_set_id, settings=settings)
        stage.progress_total = prompts * settings.n
        service.write_progress(s, stage=stage)
        todo = [c for c in service.chunks_of(s, stage_id=stage.id) if c.status != Status.succeeded]
        for c in todo:
            c.status = Status.queued
        queue, ids = _spec(teacher).queue, [c.id for c in todo]
        if not ids:
            complete_stage(s, stage, run, service.aggregate(s, stage=stage))
            return DEFERRED
    for chunk_id in ids:
        celery_app.send_task(CHUNK_TASK, args=[ctx.stage_id, chunk_id], queue=queue)
    log.info("rollout stage %s: %d prompts x %d, %d chunks queued on %s", ctx.stage_id, prompts, settings.n,
             len(ids), queue)  # fmt: skip
    return DEFERRED


@celery_app.task(name="distillery.stage.rollout", bind=True)
def rollout_stage(self, stage_id: int) -> None:
    run_stage(stage_id, self.request.id, plan_and_dispatch)


# ---- a chunk task ----------------------------------------------------------------------------


@dataclass
class ChunkJob:
    stage_id: int
    chunk_id: int
    run_id: int
    project_id: int
    settings: RolloutSettings
    teacher: TeacherSpec
    cache_prefix: bytes
    quote: service.Quote | None
    first: int
    last: int
    prompt_set_id: int

    def prompts_where(self) -> tuple:
        """The chunk's prompts: its slice of positions, in the rollout's split."""
        return (
            Prompt.prompt_set_id == self.prompt_set_id,
            Prompt.position.between(self.first, self.last),
            service.split_filter(self.settings),
        )


def _claim_chunk(stage_id: int, chunk_id: int | None, task_id: str | None) -> ChunkJob | None:
    """Take a chunk for this task: the one its message names, or (chunk_id None) the stage's next
    queued one, which a task whose own chunk is running dry takes over to keep the teacher busy."""
    with session_scope() as s:
        stmt = select(RolloutChunk).with_for_update(skip_locked=chunk_id is None)
        if chunk_id is None:
            stmt = stmt.where(RolloutChunk.stage_id == stage_id, RolloutChunk.status == Status.queued)
            stmt = stmt.order_by(RolloutChunk.index).limit(1)
        else:
            stmt = stmt.where(RolloutChunk.id == chunk_id)
        chunk = s.scalar(stmt)
        stage = s.get(RunStage, stage_id)
        if chunk is None or stage is None:
            return None
        run = s.get(Run, stage.run_id)
        if stage.status != Status.running or run.status != Status.running:
            if chunk.status in (Status.queued, Status.pending):
                chunk.status = Status.cancelled
            return None
        if chunk.status in (Status.succeeded, Status.cancelled):
            return None
        now = datetime.now(UTC)
        if (
            chunk.status == Status.running
            and chunk.task_id != task_id
            and chunk.heartbeat_at
            and (now - chunk.heartbeat_at).total_seconds() < get_settings().stale_after_s
        ):
            log.info("chunk %s is being generated by task %s; skipping", chunk.id, chunk.task_id)
            return None
        chunk.status, chunk.task_id, chunk.heartbeat_at, chunk.error = Status.running, task_id, now, None
        settings = RolloutSettings.model_validate(run.recipe.get("rollout", {}))
        teacher = s.get(Teacher, run.teacher_id)
        return ChunkJob(
            stage_id=stage_id,
            chunk_id=chunk.id,
            run_id=run.id,
            project_id=run.project_id,
            settings=settings,
            teacher=_spec(teacher),
            cache_prefix=service.cache_prefix(project_id=run.project_id, teacher=teacher, settings=settings),
            quote=service.quote_for(s, teacher=teacher),
            first=chunk.first_position,
            last=chunk.last_position,
            prompt_set_id=run.prompt_set_id,
        )


def _load_work(job: ChunkJob, writer: GenerationWriter) -> list[Request]:
    """The missing (prompt, attempt) pairs of this chunk, minus what the cache answers. Each request
    carries its attempts' cache keys: they look up the cache here and become its entries later."""
    with session_scope() as s:
        rows = s.execute(
            select(Prompt.id, Prompt.text, Prompt.system, Prompt.messages)
            .where(*job.prompts_where())
            .order_by(Prompt.position)
        ).all()
    have = writer.existing_ok([r.id for r in rows])
    n, todo = job.settings.n, []
    for pid, text, system, messages in rows:
        missing = [a for a in range(n) if (pid, a) not in have]
        if missing:
            convo = service.conversation(text, system, messages, job.settings.system_prompt)
            keys = {a: service.cache_key(job.cache_prefix, convo, a) for a in missing}
            todo.append((pid, convo, keys))
    if job.settings.use_cache and todo:
        hits = writer.copy_cached({(pid, a): k for pid, _, keys in todo for a, k in keys.items()})
        todo = [
            (pid, convo, {a: k for a, k in keys.items() if (pid, a) not in hits}) for pid, convo, keys in todo
        ]
    return [
        Request(key=(pid, list(keys), list(keys.values())), messages=convo, n=len(keys))
        for pid, convo, keys in todo
        if keys
    ]


def _rows(job: ChunkJob, req: Request, completions: list[Completion]) -> list[Row]:
    pid, attempts, keys = req.key
    out = []
    billed = False
    for attempt, key, c in zip(attempts, keys, completions, strict=False):
        row = Row(pid, attempt, c, key if c.ok else None)
        if c.ok and not billed:
            row.billed_prompt_tokens, billed = c.prompt_tokens or 0, True
        out.append(row)
    for attempt in attempts[len(completions) :]:  # a backend that answered short: record, never drop
        out.append(Row(pid, attempt, Completion(None, error="teacher returned fewer choices than n"), None))
    return out


class Outstanding:
    """Requests handed to the teacher and not answered yet, over every chunk one task drives."""

    def __init__(self) -> None:
        self.n = 0


async def _generate(
    job: ChunkJob, requests: list[Request], writer: GenerationWriter, backend, outstanding: Outstanding
) -> None:
    interval = max(get_settings().progress_interval_s, 0.2)
    queue: asyncio.Queue = asyncio.Queue()
    done = object()
    outstanding.n += len(requests)
    left = len(requests)

    async def produce() -> None:
        try:
            async for item in backend.generate(requests):
                queue.put_nowait(item)
        finally:
            queue.put_nowait(done)

    producer = asyncio.create_task(produce())
    pending: list[Row] = []
    gpu_seen = 0.0
    last_flush = time.monotonic()
    try:
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), timeout=interval)
            except TimeoutError:
                item = None
            finished = item is done
            if item is not None and not finished:
                req, completions = item
                pending += _rows(job, req, completions)
                outstanding.n -= 1
                left -= 1
            now = time.monotonic()
            if finished or len(pending) >= FLUSH_ROWS or now - last_flush >= interval:
                gpu = backend.gpu_seconds - gpu_seen
                gpu_seen = backend.gpu_seconds
                batch, pending, last_flush = pending, [], now
                # Writes run in a thread so responses keep arriving while PostgreSQL works.
                status = await asyncio.to_thread(writer.flush, batch, gpu)
                if status != Status.running:
                    raise Cancelled()
            if finished:
                break
        await producer
    finally:
        outstanding.n -= left
        producer.cancel()
        await asyncio.gather(producer, return_exceptions=True)


def _prepare(job: ChunkJob) -> tuple[GenerationWriter, list[Request]]:
    writer = GenerationWriter(job)
    writer.start()
    return writer, _load_work(job, writer)


async def _drive(first: ChunkJob, task_id: str | None) -> None:
    """Generate the first chunk; while the teacher has free slots (the chunk's last requests are in
    flight), take over the stage's next queued chunk so the teacher's batch never thins out between
    chunks. Each chunk is settled as it ends."""
    settings = first.settings
    backend = make_teacher(
        first.teacher,
        sampling_of(settings),
        concurrency=settings.concurrency,
        max_retries=settings.max_retries,
        timeout_s=settings.timeout_s,
    )
    # In-process generate runs one batch at a time: nothing to overlap there.
    overlap = first.teacher.backend != "transformers_local"
    outstanding = Outstanding()
    active: dict[asyncio.Task, ChunkJob] = {}
    more, stop = overlap, False

    async def start(job: ChunkJob) -> None:
        try:
            writer, requests = await asyncio.to_thread(_prepare, job)
        except Exception as exc:  # noqa: BLE001 - recorded on the chunk and the stage
            await asyncio.to_thread(_settle, job, job.stage_id, job.chunk_id, Status.failed, _why(exc))
            raise
        active[asyncio.create_task(_generate(job, requests, writer, backend, outstanding))] = job

    try:
        await start(first)
        while active:
            done, _ = await asyncio.wait(
                active, timeout=0.05 if more and not stop else None, return_when=asyncio.FIRST_COMPLETED
            )
            ended = []
            for task in done:
                job = active.pop(task)
                exc = task.exception()
                if exc is None:
                    ended.append((job, Status.succeeded, None))
                elif isinstance(exc, Cancelled):
                    ended.append((job, Status.cancelled, None))
                    stop = True
                else:
                    log.error("chunk %s of stage %s failed", job.chunk_id, job.stage_id, exc_info=exc)
                    ended.append((job, Status.failed, _why(exc)))
                    stop = True
            if more and not stop and outstanding.n < settings.concurrency:
                nxt = await asyncio.to_thread(_claim_chunk, first.stage_id, None, task_id)
                if nxt is None:
                    more = False
                else:
                    log.info("task %s takes over chunk %s", task_id, nxt.chunk_id)
                    await start(nxt)
            if not active:
                await asyncio.to_thread(_release_idle_server, first, first.stage_id)
            for job, status, error in ended:
                await asyncio.to_thread(_settle, job, job.stage_id, job.chunk_id, status, error)
    finally:
        for task in active:
            task.cancel()
        await asyncio.gather(*active, return_exceptions=True)
        await backend.aclose()


def _why(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:4000]


def _settle(job: ChunkJob | None, stage_id: int, chunk_id: int, status: Status, error: str | None) -> None:
    """Record how the chunk ended; fail the stage on an error; complete it when this was the last."""
    with session_scope() as s:
        chunk = s.get(RolloutChunk, chunk_id)
        stage = s.execute(select(RunStage).where(RunStage.id == stage_id).with_for_update()).scalar_one()
        run = s.get(Run, stage.run_id)
        if job is not None:
            chunk.status, chunk.error, chunk.heartbeat_at = status, error, datetime.now(UTC)
        if stage.status.finished:
            return
        if status == Status.failed:
            service.write_progress(s, stage=stage)
            finish_stage(s, stage, run, Status.failed, f"chunk {chunk.index}: {error}")
            return
        states = Counter(c.status for c in service.chunks_of(s, stage_id=stage_id))
        if stage.status == Status.cancelling or run.status == Status.cancelling:
            if not states[Status.running]:
                service.write_progress(s, stage=stage)
                finish_stage(s, stage, run, Status.cancelled)
            return
        if states[Status.succeeded] == sum(states.values()):
            metrics = service.aggregate(s, stage=stage)
            complete_stage(s, stage, run, metrics)


def run_chunk(stage_id: int, chunk_id: int, task_id: str | None) -> None:
    """Generate what one chunk is missing (and, near its end, what the next queued chunks are)."""
    job = _claim_chunk(stage_id, chunk_id, task_id)
    if job is None:
        _settle(None, stage_id, chunk_id, Status.cancelled, None)
        return
    try:
        asyncio.run(_drive(job, task_id))
    except BaseException as exc:  # the chunk that raised is already settled; make sure this one is
        with session_scope() as s:
            still = s.get(RolloutChunk, chunk_id).status == Status.running
        if still:
            _settle(job, stage_id, chunk_id, Status.failed, _why(exc))
        log.exception("rollout task for chunk %s of stage %s failed", chunk_id, stage_id)
        raise


def _release_idle_server(job: ChunkJob, stage_id: int) -> None:
    """Stop this worker's vLLM server once no chunk of the stage is left waiting for it."""
    if job.teacher.backend != "vllm" or job.teacher.base_url:
        return
    with session_scope() as s:
        waiting = s.scalar(
            select(RolloutChunk.id)
            .where(
                RolloutChunk.stage_id == stage_id, RolloutChunk.status.in_([Status.pending, Status.queued])
            )
            .limit(1)
        )
    if waiting is None:
        from workers.teachers.vllm_server import release_all

        release_all()


@celery_app.task(name=CHUNK_TASK, bind=True)
def rollout_chunk(self, stage_id: int, chunk_id: int) -> None:
    run_chunk(stage_id, chunk_id, self.request.id)
