"""Adaptive sampling: ask for a prompt's attempts a round at a time, verify each round as it lands,
and stop a prompt once `stop_when_verified` attempts passed (or `stop_after_failures` failed).

The database stays the truth, so a killed or re-queued chunk resumes where it was: every round's
attempts get their verdicts and decision stored as the filter stage would store them (the filter
stage later skips them), and a prompt's tally is counted from the stored decisions.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import and_, exists, func, select

from backend.core.db import session_scope
from backend.prompts.models import Prompt
from backend.runs.models import StageChunk
from backend.samples.models import Generation, Verdict
from workers.stages.rollout.job import ChunkJob
from workers.teachers.base import Request
from workers.verdicts import final_of, store_verdicts
from workers.verifiers.verdict import Item
from workers.verifiers.verify import verify_many


def verify_and_tally(job: ChunkJob, prompt_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Verify the prompts' attempts that have no final verdict yet; then (passed, failed) per prompt."""
    combo = job.verifiers
    if combo is None:  # build_job sets it wherever the rollout is adaptive, the only caller's case
        raise ValueError(f"chunk {job.chunk_id}: adaptive sampling without the filter's verifiers")
    name, version = final_of(combo)
    decided = exists().where(
        and_(
            Verdict.generation_id == Generation.id,
            Verdict.verifier == name,
            Verdict.verifier_version == version,
        )
    )
    of_prompts = (
        Generation.run_id == job.run_id,
        Generation.prompt_id.in_(prompt_ids),
        Generation.status == "ok",
    )
    with session_scope() as s:
        rows = s.execute(
            select(Generation.id, Generation.content, Generation.reasoning, Generation.finish_reason,
                   Prompt.reference, Prompt.meta)
            .join(Prompt, Prompt.id == Generation.prompt_id)
            .where(*of_prompts, ~decided)
            .order_by(Generation.id)
        ).all()  # fmt: skip
    if rows:
        items = [
            Item(
                completion=c or "",
                reasoning=r,
                finish_reason=f,
                reference=ref,
                tests=(meta or {}).get("tests"),
            )
            for _, c, r, f, ref, meta in rows
        ]
        verdicts = verify_many(combo, items)
        with session_scope() as s:
            store_verdicts(
                s, run_id=job.run_id, ids=[r[0] for r in rows], verdicts=verdicts, now=datetime.now(UTC)
            )
    with session_scope() as s:
        tally = s.execute(
            select(
                Generation.prompt_id,
                func.count().filter(Generation.accepted.is_(True)),
                func.count().filter(Generation.accepted.is_(False)),
            )
            .where(*of_prompts)
            .group_by(Generation.prompt_id)
        ).all()
    return {pid: (passed, failed) for pid, passed, failed in tally}


def record_skipped(job: ChunkJob) -> None:
    """The chunk's attempts never asked for: n per prompt, less those it holds."""
    with session_scope() as s:
        prompts = s.scalar(select(func.count()).select_from(Prompt).where(*job.prompts_where())) or 0
        pids = select(Prompt.id).where(*job.prompts_where()).scalar_subquery()
        have = (
            s.scalar(
                select(func.count()).where(Generation.run_id == job.run_id, Generation.prompt_id.in_(pids))
            )
            or 0
        )  # counts: never NULL
        chunk = s.get_one(StageChunk, job.chunk_id)
        chunk.counters = {**(chunk.counters or {}), "skipped": max(prompts * job.settings.n - have, 0)}


async def generate_adaptive(job: ChunkJob, requests: list[Request], generate) -> None:
    """Rounds of `generate(requests)` until every prompt has its passes, its failures or its n."""
    k, m = job.settings.stop_when_verified, job.settings.stop_after_failures
    convo = {r.key[0]: r.messages for r in requests}
    remaining = {r.key[0]: list(zip(r.key[1], r.key[2], strict=True)) for r in requests}
    tally = await asyncio.to_thread(verify_and_tally, job, list(remaining))
    while True:
        batch = []
        for pid, left in remaining.items():
            passed, failed = tally.get(pid, (0, 0))
            if not left or (k is not None and passed >= k) or (m is not None and failed >= m):
                continue
            want = k - passed if k is not None else m - failed if m is not None else len(left)
            take, remaining[pid] = left[:want], left[want:]
            batch.append(Request(key=(pid, [a for a, _ in take], [c for _, c in take]), messages=convo[pid],
                                 n=len(take)))  # fmt: skip
        if not batch:
            break
        await generate(batch)
        tally.update(await asyncio.to_thread(verify_and_tally, job, [r.key[0] for r in batch]))
    await asyncio.to_thread(record_skipped, job)
