"""A judge chunk task: every attempt of the chunk's prompts without a judge verdict of this rubric
version (or with one whose request failed) is rendered into the rubric, answered from the cache or
sent to the judge endpoint, and written in batches."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import and_, exists, select

from backend.core.db import session_scope
from backend.judge.models import JudgeCache
from backend.judge.prompt import render
from backend.prompts.models import Prompt
from backend.rollouts.metrics import split_filter
from backend.rollouts.requests import cache_key, conversation
from backend.runs.models import Status
from backend.samples.models import Generation, Verdict
from workers.progress import Cancelled
from workers.stages.judge.fanout import FANOUT
from workers.stages.judge.job import JudgeJob, build_job
from workers.stages.judge.writer import Judged, JudgeWriter
from workers.teachers.base import Completion, Request
from workers.teachers.factory import make_teacher

log = logging.getLogger(__name__)
BATCH = 64


def _work(job: JudgeJob) -> tuple[list[int], list[tuple[int, bool | None, list[dict], str]]]:
    """The chunk's generation ids, and (generation, filter decision, judge messages, cache key) to do."""
    prompts = select(Prompt.id).where(
        Prompt.prompt_set_id == job.prompt_set_id,
        Prompt.position.between(job.first, job.last),
        split_filter(job.rollout),
    )
    judged = exists().where(
        and_(
            Verdict.generation_id == Generation.id,
            Verdict.verifier == "judge",
            Verdict.verifier_version == job.version,
            Verdict.status != "error",
        )
    )
    with session_scope() as s:
        ids = list(
            s.scalars(
                select(Generation.id).where(
                    Generation.run_id == job.run_id, Generation.prompt_id.in_(prompts.scalar_subquery())
                )
            )
        )
        rows = s.execute(
            select(
                Generation.id,
                Generation.content,
                Generation.reasoning,
                Prompt.text,
                Prompt.system,
                Prompt.messages,
                Prompt.reference,
            )
            .join(Prompt, Prompt.id == Generation.prompt_id)
            .where(Generation.id.in_(ids), Generation.status == "ok", ~judged)
            .order_by(Generation.id)
        ).all()
        decided: dict[int, bool | None] = {}
        if job.filter_final is not None and rows:
            name, version = job.filter_final
            decided = dict(
                s.execute(
                    select(Verdict.generation_id, Verdict.passed).where(
                        Verdict.generation_id.in_([r[0] for r in rows]),
                        Verdict.verifier == name,
                        Verdict.verifier_version == version,
                    )
                )
                .tuples()
                .all()
            )
    todo = []
    for gid, content, reasoning, text, system, messages, reference in rows:
        convo = conversation(text, system, messages, job.rollout.system_prompt)
        question = "\n\n".join(m["content"] for m in convo if m.get("role") != "assistant")
        prompt = render(
            job.rubric["template"],
            question=question,
            reference=reference,
            reasoning=reasoning,
            answer=content,
        )
        msgs = [{"role": "user", "content": prompt}]
        todo.append((gid, decided.get(gid), msgs, cache_key(job.cache_prefix, msgs, 0)))
    return ids, todo


def _cached(keys: list[str]) -> dict[str, Completion]:
    out: dict[str, Completion] = {}
    with session_scope() as s:
        for i in range(0, len(keys), 1000):
            for row in s.scalars(select(JudgeCache).where(JudgeCache.key.in_(keys[i : i + 1000]))):
                out[row.key] = Completion(row.content, None, "stop", row.prompt_tokens, row.completion_tokens)
    return out


def _refuses_json(c: Completion) -> bool:
    """An endpoint that does not take response_format answers 400/422 at once."""
    return c.error is not None and c.error.startswith(("http 400", "http 422"))


async def _judge(job: JudgeJob, todo, writer: JudgeWriter) -> None:
    json_mode = job.settings.json_mode
    s = job.settings
    backend = make_teacher(
        job.teacher,
        job.sampling(json_mode),
        concurrency=s.concurrency,
        max_retries=s.max_retries,
        timeout_s=s.timeout_s,
    )
    try:
        for i in range(0, len(todo), BATCH):
            batch = todo[i : i + BATCH]
            requests = [Request(key=(gid, fp, key), messages=msgs) for gid, fp, msgs, key in batch]
            items: list[Judged] = []
            async for req, comps in backend.generate(requests):
                items.append(
                    Judged(
                        req.key[0],
                        req.key[1],
                        comps[0] if comps else Completion(None, error="no reply"),
                        req.key[2],
                    )
                )
            if json_mode and items and all(_refuses_json(it.completion) for it in items):
                log.info("judge endpoint refuses response_format; asking for JSON in the prompt only")
                json_mode = False
                await backend.aclose()
                backend = make_teacher(
                    job.teacher,
                    job.sampling(False),
                    concurrency=s.concurrency,
                    max_retries=s.max_retries,
                    timeout_s=s.timeout_s,
                )
                items = []
                async for req, comps in backend.generate(requests):
                    items.append(
                        Judged(
                            req.key[0],
                            req.key[1],
                            comps[0] if comps else Completion(None, error="no reply"),
                            req.key[2],
                        )
                    )
            if await asyncio.to_thread(writer.flush, items) != Status.running:
                raise Cancelled()
    finally:
        await backend.aclose()


def judge_chunk(job: JudgeJob) -> None:
    ids, todo = _work(job)
    writer = JudgeWriter(job, FANOUT.write_progress)
    writer.start(ids)
    if job.settings.use_cache and todo:
        hits = _cached([t[3] for t in todo])
        if hits:
            found = [
                Judged(gid, fp, hits[key], key, from_cache=True) for gid, fp, _, key in todo if key in hits
            ]
            for i in range(0, len(found), 1000):
                if writer.flush(found[i : i + 1000]) != Status.running:
                    raise Cancelled()
            todo = [t for t in todo if t[3] not in hits]
    if todo:
        asyncio.run(_judge(job, todo, writer))


def run_chunk(stage_id: int, chunk_id: int, task_id: str | None) -> None:
    FANOUT.run_chunk(stage_id, chunk_id, task_id, build_job, judge_chunk)
