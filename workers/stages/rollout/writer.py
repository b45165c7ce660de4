"""Batched, idempotent writes of a rollout chunk's generations, its counters and the stage's progress.

Every batch is one transaction: the generations (INSERT ... ON CONFLICT (run, prompt, attempt) DO
UPDATE only where the stored attempt failed), their response-cache entries, and the chunk's counters.
A worker killed between batches loses only the batch it had not committed.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.core.config import get_settings
from backend.core.db import dialect_insert, session_scope, storable
from backend.datasets.logprobs import CacheMeta
from backend.prompts.models import Prompt
from backend.rollouts.models import ResponseCache
from backend.runs.chunks import add_counters
from backend.runs.models import RunStage, StageChunk, Status
from backend.samples.models import Generation
from workers.logprobs import teacher_meta, write_part
from workers.stages.rollout.job import ChunkJob
from workers.teachers.base import Completion, reasoning_token_count

UPDATABLE = (
    "status",
    "reasoning",
    "content",
    "finish_reason",
    "error",
    "prompt_tokens",
    "completion_tokens",
    "reasoning_tokens",
    "latency_ms",
    "teacher_id",
    "from_cache",
    "created_at",
)


@dataclass
class Row:
    prompt_id: int
    attempt: int
    completion: Completion
    cache_key: str | None  # set for a fresh success: it becomes a cache entry
    from_cache: bool = False
    billed_prompt_tokens: int = 0  # the prompt is paid once per request, whatever n is


# PostgreSQL: one INSERT ... SELECT FROM unnest(one array per column), the arrays sent binary. The
# statement's text never changes, so psycopg parses and prepares it once. The multi-row VALUES that
# SQLAlchemy built for 256 rows x 13 columns was re-split by psycopg on every batch (half the write
# thread's CPU, the GIL held against the event loop), and text-format arrays ran an escaping regex over
# every 2 KB answer (bench/RESULTS.md, rollout overhead). psycopg's own cursor: SQLAlchemy's text()
# cannot ask for binary parameters (%b).
_PG_COLUMNS = {
    "run_id": "bigint",
    "prompt_id": "bigint",
    "attempt": "int",
    "status": "varchar",
    "reasoning": "text",
    "content": "text",
    "finish_reason": "varchar",
    "error": "text",
    "prompt_tokens": "int",
    "completion_tokens": "int",
    "reasoning_tokens": "int",
    "latency_ms": "int",
    "teacher_id": "int",
    "from_cache": "bool",
    "created_at": "timestamptz",
}
_PG_UPSERT = (
    f"INSERT INTO generations ({', '.join(_PG_COLUMNS)}) "
    f"SELECT * FROM unnest({', '.join(f'%b::{t}[]' for t in _PG_COLUMNS.values())}) "
    "ON CONFLICT (run_id, prompt_id, attempt) DO UPDATE SET "
    f"{', '.join(f'{c} = excluded.{c}' for c in UPDATABLE)} WHERE generations.status = 'failed' "
    "RETURNING id, prompt_id, attempt, status"
)
_PG_CACHE = (
    "INSERT INTO response_cache (key, generation_id, created_at) "
    "SELECT * FROM unnest(%b::varchar[], %b::bigint[], %b::timestamptz[]) ON CONFLICT (key) DO NOTHING"
)


def _pg_unnest(session: Session, sql: str, rows: list[dict[str, Any]], names) -> list[tuple]:
    """Run sql, whose %b parameters are one array per name, in the session's transaction."""
    driver = session.connection().connection.driver_connection  # psycopg's (backend/core/config.py)
    assert driver is not None
    cur = driver.cursor()
    cur.execute(sql, [[r[c] for r in rows] for c in names])
    return cur.fetchall() if cur.description else []


def upsert_generations(session: Session, rows: list[dict[str, Any]]) -> list[tuple[int, int, int, str]]:
    """Insert rows; a row whose (run, prompt, attempt) exists replaces it only if that one failed.
    Returns (id, prompt_id, attempt, status) of the rows actually written."""
    if not rows:
        return []
    if session.get_bind().dialect.name == "postgresql":
        # a column the rows carry but the arrays lack would be dropped without a word: refuse instead
        if extra := rows[0].keys() - _PG_COLUMNS.keys():
            raise RuntimeError(f"writer: columns {sorted(extra)} missing from _PG_COLUMNS")
        return _pg_unnest(session, _PG_UPSERT, rows, _PG_COLUMNS)
    stmt = dialect_insert()(Generation)
    stmt = stmt.on_conflict_do_update(
        index_elements=["run_id", "prompt_id", "attempt"],
        set_={c: getattr(stmt.excluded, c) for c in UPDATABLE},
        where=Generation.status == "failed",
    ).returning(Generation.id, Generation.prompt_id, Generation.attempt, Generation.status)
    return [tuple(r) for r in session.execute(stmt, rows)]


def insert_cache_entries(session: Session, entries: list[dict[str, Any]]) -> None:
    """Response-cache entries (key, generation_id, created_at); a key already there is kept."""
    if not entries:
        return
    if session.get_bind().dialect.name == "postgresql":
        _pg_unnest(session, _PG_CACHE, entries, ("key", "generation_id", "created_at"))
        return
    session.execute(dialect_insert()(ResponseCache).on_conflict_do_nothing(index_elements=["key"]), entries)


class GenerationWriter:
    def __init__(self, job: ChunkJob, write_progress):
        self.job = job
        self._write_progress = write_progress  # (session, stage=) -> the stage's status
        self._interval = get_settings().progress_interval_s
        self._last_progress = float("-inf")
        self._meta: CacheMeta | None = None  # the logprob cache's, read from the teacher's tokenizer once

    def existing_ok(self, prompt_ids: list[int]) -> set[tuple[int, int]]:
        """(prompt, attempt) pairs of this run that already succeeded."""
        if not prompt_ids:
            return set()
        with session_scope() as s:
            stmt = select(Generation.prompt_id, Generation.attempt).where(
                Generation.run_id == self.job.run_id,
                Generation.prompt_id.in_(prompt_ids),
                Generation.status == "ok",
            )
            return {(p, a) for p, a in s.execute(stmt)}

    def start(self) -> None:
        """Reset the chunk's counters from what is stored; failed attempts will be asked again."""
        job = self.job
        with session_scope() as s:
            chunk = s.get_one(StageChunk, job.chunk_id)
            pids = select(Prompt.id).where(*job.prompts_where()).scalar_subquery()
            stats = s.execute(
                select(
                    func.count(),
                    func.count().filter(Generation.finish_reason == "length"),
                    func.count().filter(Generation.from_cache.is_(True)),
                    func.coalesce(func.sum(Generation.prompt_tokens), 0),
                    func.coalesce(func.sum(Generation.completion_tokens), 0),
                ).where(
                    Generation.run_id == job.run_id,
                    Generation.prompt_id.in_(pids),
                    Generation.status == "ok",
                )
            ).one()
            # attempts per teacher (rollout.teachers), exact over re-runs: counted again from what is stored
            teacher = func.coalesce(Generation.teacher_id, job.teacher_id)
            ok = Generation.status == "ok"
            ours = (Generation.run_id == job.run_id, Generation.prompt_id.in_(pids), ok)
            by_teacher = s.execute(select(teacher, func.count()).where(*ours).group_by(teacher)).all()
            names = ("done", "truncated", "cached", "prompt_tokens", "completion_tokens")
            # Money already spent stays counted: a re-run of the chunk does not make it unspent.
            kept = {k: (chunk.counters or {}).get(k, 0.0) for k in ("cost_usd", "gpu_seconds")}
            # logprob rows live in part files, not rows to count again: what was written stays counted
            kept |= {k: (chunk.counters or {}).get(k, 0) for k in ("logprobs", "logprobs_missing")}
            teachers = {str(t): int(k) for t, k in by_teacher}
            chunk.counters = {**dict(zip(names, map(int, stats), strict=True)), **kept, "failed": 0,
                              "failures": {}, "teachers": teachers}  # fmt: skip

    def copy_cached(self, keys: dict[tuple[int, int], str]) -> set[tuple[int, int]]:
        """Write the pairs the response cache can answer as generations of this run (from_cache)."""
        by_key = {k: pair for pair, k in keys.items()}
        found: list[Row] = []
        with session_scope() as s:
            items = list(by_key)
            for i in range(0, len(items), 1000):
                stmt = (
                    select(ResponseCache.key, Generation)
                    .join(Generation, Generation.id == ResponseCache.generation_id)
                    .where(ResponseCache.key.in_(items[i : i + 1000]))
                )
                for key, g in s.execute(stmt):
                    if g.run_id == self.job.run_id:
                        continue
                    pid, attempt = by_key[key]
                    c = Completion(
                        g.content,
                        g.reasoning,
                        g.finish_reason,
                        g.prompt_tokens,
                        g.completion_tokens,
                        g.latency_ms,
                        reasoning_tokens=g.reasoning_tokens,
                    )
                    found.append(Row(pid, attempt, c, None, from_cache=True))
        if found:
            self.flush(found, {})
        return {(r.prompt_id, r.attempt) for r in found}

    def _logprobs(self, written, by_pair: dict[tuple[int, int], Row], counts: Counter[str]) -> None:
        """The written attempts' teacher logprobs as a part file (workers/logprobs.py), before the
        batch commits; an attempt the teacher gave none for is counted missing."""
        job = self.job
        assert job.settings.logprobs is not None
        rows = []
        for gid, pid, attempt, status in written:
            r = by_pair[(pid, attempt)]
            if status != "ok":
                continue
            if r.completion.logprobs is not None and r.completion.logprobs.token_ids:
                rows.append((gid, r.completion.logprobs))
            else:
                counts["logprobs_missing"] += 1
        if rows:
            if self._meta is None:
                self._meta = teacher_meta(job.teacher.model, job.settings.logprobs, "rollout")
            write_part(job.run_id, job.chunk_id, rows, self._meta)
            counts["logprobs"] += len(rows)

    def _cost(self, spent: dict[int, list[int]], gpu_seconds: dict[int, float]) -> float | None:
        """Each teacher's tokens and GPU time at its own prices; None where no teacher has a price."""
        total, priced = 0.0, False
        for tid in spent.keys() | gpu_seconds.keys():
            quote = self.job.teachers[tid].quote if tid in self.job.teachers else self.job.quote
            if quote is None:
                continue
            tokens = spent.get(tid, [0, 0])
            total += quote.cost(prompt_tokens=tokens[0], completion_tokens=tokens[1],
                                gpu_seconds=gpu_seconds.get(tid, 0.0))  # fmt: skip
            priced = True
        return total if priced else None

    def flush(self, rows: list[Row], gpu_seconds: dict[int, float]) -> Status:
        """Write one batch and the counters; returns the stage's status (the cancellation check).
        gpu_seconds: per teacher, since the last flush (each teacher's GPU time at its own price)."""
        job = self.job
        now = datetime.now(UTC)
        values = [
            {
                "run_id": job.run_id,
                "prompt_id": r.prompt_id,
                "attempt": r.attempt,
                "status": "ok" if r.completion.ok else "failed",
                "reasoning": storable(r.completion.reasoning),
                "content": storable(r.completion.content),
                "finish_reason": r.completion.finish_reason,
                "error": storable(r.completion.error),
                "prompt_tokens": r.completion.prompt_tokens,
                "completion_tokens": r.completion.completion_tokens,
                "reasoning_tokens": reasoning_token_count(r.completion),
                "latency_ms": r.completion.latency_ms,
                "teacher_id": job.teacher_of(r.prompt_id).id,
                "from_cache": r.from_cache,
                "created_at": now,
            }
            for r in rows
        ]
        with session_scope() as s:
            written = upsert_generations(s, values)
            by_pair = {(r.prompt_id, r.attempt): r for r in rows}
            counts: Counter[str] = Counter()
            failures: Counter[str] = Counter()
            spent: dict[int, list[int]] = {}  # teacher -> [billed prompt tokens, completion tokens]
            teachers: Counter[str] = Counter()
            entries = []
            for gid, pid, attempt, status in written:
                r = by_pair[(pid, attempt)]
                c = r.completion
                if status == "ok":
                    counts["done"] += 1
                    counts["truncated"] += c.truncated
                    counts["cached"] += r.from_cache
                    counts["prompt_tokens"] += c.prompt_tokens or 0
                    counts["completion_tokens"] += c.completion_tokens or 0
                    tid = job.teacher_of(pid).id
                    teachers[str(tid)] += 1
                    if not r.from_cache:
                        paid = spent.setdefault(tid, [0, 0])
                        paid[0] += r.billed_prompt_tokens
                        paid[1] += c.completion_tokens or 0
                    if r.cache_key:
                        entries.append({"key": r.cache_key, "generation_id": gid, "created_at": now})
                else:
                    counts["failed"] += 1
                    failures[c.cause or "unknown"] += 1
            if job.settings.logprobs:
                self._logprobs(written, by_pair, counts)
            insert_cache_entries(s, entries)
            chunk = s.get_one(StageChunk, job.chunk_id)
            more: dict[str, Any] = {**counts, "gpu_seconds": sum(gpu_seconds.values())}
            if failures:
                more["failures"] = dict(failures)
            if teachers:
                more["teachers"] = dict(teachers)
            if (cost := self._cost(spent, gpu_seconds)) is not None:
                more["cost_usd"] = cost
            chunk.counters = add_counters(chunk.counters or {}, more)
            chunk.heartbeat_at = now
            stage = s.get_one(RunStage, job.stage_id)
            if time.monotonic() - self._last_progress >= self._interval:
                self._last_progress = time.monotonic()
                s.flush()
                self._write_progress(s, stage=stage)
            return stage.status
