"""A rollout chunk task: ask the teacher for the attempts its prompts are missing, minus what the
response cache answers, and write them in batches (workers/stages/rollout/writer.py). While the
teacher has free slots near the chunk's end, the same task takes over the stage's next queued chunk.
"""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy import select

from backend.core.config import get_settings
from backend.core.db import session_scope
from backend.core.logging import error_text
from backend.prompts.models import Prompt
from backend.rollouts.requests import cache_key, conversation
from backend.runs.models import StageChunk, Status
from workers.keepalive import beating, chunks_held
from workers.progress import Cancelled
from workers.stages.rollout.adaptive import generate_adaptive
from workers.stages.rollout.batch import batch_client
from workers.stages.rollout.fanout import FANOUT
from workers.stages.rollout.job import ChunkJob, Routed, build_job, sampling_of
from workers.stages.rollout.routed import RoutedTeachers, gpu_by_teacher
from workers.stages.rollout.smoke import go_on, judge_sample
from workers.stages.rollout.writer import GenerationWriter, Row
from workers.teachers.base import Completion, Request
from workers.teachers.factory import make_teacher

log = logging.getLogger(__name__)
# Write once this many rows wait (or each progress interval). A write's fixed cost (a session, the
# chunk and stage rows, the commit) was ~6 ms of CPU: 54 us a row at 256 rows, 31 at 1,024 (measured,
# bench/RESULTS.md). A killed worker loses at most the rows it had not committed, asked again later.
FLUSH_ROWS = 1024
MAX_BATCH_ROWS = 4096  # one write's most rows: bounds a transaction after a stall


def _load_work(job: ChunkJob, writer: GenerationWriter) -> list[Request]:
    """The missing (prompt, attempt) pairs of this chunk, minus what the cache answers. Each request
    carries its attempts' cache keys: they look up the cache here and become its entries later."""
    with session_scope() as s:
        rows = s.execute(
            select(Prompt.id, Prompt.text, Prompt.system, Prompt.messages, Prompt.meta)
            .where(*job.prompts_where())
            .order_by(Prompt.position)
        ).all()
    have = writer.existing_ok([r.id for r in rows])
    n, todo = job.settings.n, []
    for pid, text, system, messages, meta in rows:
        teacher = job.route(pid, meta)  # rollout.teachers: the prompt's teacher keys its cache entries
        missing = [a for a in range(n) if (pid, a) not in have]
        if missing:
            convo = conversation(text, system, messages, job.settings.system_prompt)
            keys = {a: cache_key(teacher.cache_prefix, convo, a) for a in missing}
            todo.append((pid, convo, keys))
    # a cached answer carries no logprobs: with logprobs asked for, every attempt is generated
    if job.settings.use_cache and not job.settings.logprobs and todo:
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
    done, tick = object(), object()
    outstanding.n += len(requests)
    left = len(requests)

    async def produce() -> None:
        try:
            async for item in backend.generate(requests):
                queue.put_nowait(item)
        finally:
            queue.put_nowait(done)

    async def ticker() -> None:
        # One timer for the whole chunk wakes the writer each interval (progress and the cancel check
        # even when nothing arrives); wait_for(queue.get()) cost a task and a timer per answer.
        while True:
            await asyncio.sleep(interval)
            queue.put_nowait(tick)

    producer, clock = asyncio.create_task(produce()), asyncio.create_task(ticker())
    pending: list[Row] = []
    gpu_seen: dict[int, float] = {}
    last_flush = time.monotonic()
    finished = False
    try:
        while not finished:
            items = [await queue.get()]
            while not queue.empty():  # everything that came in meanwhile (during a write, say)
                items.append(queue.get_nowait())
            for item in items:
                if item is done:
                    finished = True
                elif item is not tick:
                    req, completions = item
                    pending += _rows(job, req, completions)
                    outstanding.n -= 1
                    left -= 1
            now = time.monotonic()
            while finished or len(pending) >= FLUSH_ROWS or now - last_flush >= interval:
                gpu_now = gpu_by_teacher(backend, job)
                gpu = {t: v - gpu_seen.get(t, 0.0) for t, v in gpu_now.items()}
                gpu_seen = gpu_now
                # A batch is whatever arrived while the last write ran (at most MAX_BATCH_ROWS): one
                # transaction and one fsync per write whatever the rate, where 256-row batches capped the
                # rate at 256 per commit's latency on a loaded disk (bench/RESULTS.md).
                batch, pending, last_flush = pending[:MAX_BATCH_ROWS], pending[MAX_BATCH_ROWS:], now
                # Writes run in a thread so responses keep arriving while PostgreSQL works.
                status = await asyncio.to_thread(writer.flush, batch, gpu)
                if status != Status.running:
                    raise Cancelled()
                if not pending:
                    break
        await producer
    finally:
        outstanding.n -= left
        producer.cancel()
        clock.cancel()
        await asyncio.gather(producer, clock, return_exceptions=True)


def _prepare(job: ChunkJob) -> tuple[GenerationWriter, list[Request]]:
    writer = GenerationWriter(job, FANOUT.write_progress)
    writer.start()
    return writer, _load_work(job, writer)


async def _drive(first: ChunkJob, task_id: str | None) -> None:
    """Generate the first chunk; while the teacher has free slots (the chunk's last requests are in
    flight), take over the stage's next queued chunk so the teacher's batch never thins out between
    chunks. Each chunk is settled as it ends."""
    settings = first.settings

    def make(routed: Routed):
        return make_teacher(
            routed.teacher,
            sampling_of(routed.settings, routed.teacher),
            concurrency=settings.concurrency,
            max_retries=settings.max_retries,
            timeout_s=settings.timeout_s,
        )

    # each request to its prompt's teacher (rollout.teachers); one teacher when the recipe routes none
    backend = RoutedTeachers(first, make)
    # In-process generate runs one batch at a time, and a provider batch is one submission per chunk
    # (other chunks' tasks submit theirs): nothing to overlap there.
    # The smoke sample runs alone: the planned chunks wait (pending) for its verdicts.
    in_process = any(t.teacher.backend == "transformers_local" for t in first.teachers.values())
    overlap = not in_process and settings.mode == "online" and not first.sample
    batches: list = []
    outstanding = Outstanding()
    active: dict[asyncio.Task, ChunkJob] = {}
    more, stop = overlap, False

    async def start(job: ChunkJob) -> None:
        try:
            writer, requests = await asyncio.to_thread(_prepare, job)
        except Exception as exc:  # noqa: BLE001 - recorded on the chunk and the stage
            await asyncio.to_thread(FANOUT.settle, job.stage_id, job.chunk_id, Status.failed, _why(exc))
            raise
        backend.learn(job)
        if job.settings.mode == "batch":
            batches.append(own := batch_client(job))
            work = _generate(job, requests, writer, own, outstanding)
        elif not job.adaptive:
            work = _generate(job, requests, writer, backend, outstanding)
        else:
            work = generate_adaptive(
                job, requests, lambda batch: _generate(job, batch, writer, backend, outstanding)
            )
        active[asyncio.create_task(work)] = job

    try:
        await start(first)
        while active:
            done, _ = await asyncio.wait(
                active, timeout=0.05 if more and not stop else None, return_when=asyncio.FIRST_COMPLETED
            )
            ended: list[tuple[ChunkJob, Status, str | None]] = []
            for task in done:
                job = active.pop(task)
                exc = task.exception()
                if exc is None and job.sample:
                    exc = await asyncio.to_thread(_judge, job)
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
                nxt = await asyncio.to_thread(FANOUT.claim, first.stage_id, None, task_id, build_job)
                if nxt is None:
                    more = False
                else:
                    log.info("task %s takes over chunk %s", task_id, nxt.chunk_id)
                    await start(nxt)
            if not active:
                await asyncio.to_thread(_release_idle_server, first, first.stage_id)
            for job, status, error in ended:
                await asyncio.to_thread(FANOUT.settle, job.stage_id, job.chunk_id, status, error)
    finally:
        for task in active:
            task.cancel()
        await asyncio.gather(*active, return_exceptions=True)
        await backend.aclose()
        for own in batches:
            await own.aclose()


def _judge(job: ChunkJob) -> BaseException | None:
    """The smoke sample's verdicts and decision (smoke.py); an error fails its chunk like any other."""
    try:
        judge_sample(job)
    except Exception as exc:  # noqa: BLE001 - recorded on the chunk and the stage
        return exc
    return None


def _why(exc: BaseException) -> str:
    return error_text(exc)


def run_chunk(stage_id: int, chunk_id: int, task_id: str | None) -> None:
    """Generate what one chunk is missing (and, near its end, what the next queued chunks are)."""
    job = FANOUT.claim(stage_id, chunk_id, task_id, build_job)
    if job is None:
        FANOUT.settle(stage_id, chunk_id, None, None)
        return
    try:
        with beating(StageChunk, chunks_held(task_id, chunk_id)):  # vLLM's start-up writes nothing
            asyncio.run(_drive(job, task_id))
        if job.sample:
            go_on(job)  # at or above the floor, the planned chunks are queued now
    except BaseException as exc:  # the chunk that raised is already settled; make sure this one is
        if FANOUT.chunk_still_running(chunk_id):
            FANOUT.settle(stage_id, chunk_id, Status.failed, _why(exc))
        log.exception("rollout task for chunk %s of stage %s failed", chunk_id, stage_id)
        raise


def _release_idle_server(job: ChunkJob, stage_id: int) -> None:
    """Stop this worker's vLLM server once no chunk of the stage is left waiting for it."""
    if job.teacher.backend != "vllm" or job.teacher.base_url:
        return
    if not FANOUT.any_waiting(stage_id):
        from workers.teachers.vllm_server import release_all

        release_all()
