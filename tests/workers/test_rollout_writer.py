"""The rollout's batched writes on both databases: PostgreSQL takes one unnest() statement with binary
arrays, SQLite a multi-row INSERT; both keep exactly-once (a stored success is never replaced, a stored
failure is), return only the rows they wrote, keep every text exactly as sent, and keep the first
response-cache entry of a key."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from tests.support.factories import make_generations, make_prompt_set, make_run, prompt_ids

pytestmark = pytest.mark.usefixtures("database")

ODD = 'quote " backslash \\ braces {a,b} NULL comma, ü 数学 \U0001f600\nnew line'


def _row(run_id: int, prompt_id: int, attempt: int, status: str = "ok", **fields) -> dict:
    row = {
        "run_id": run_id,
        "prompt_id": prompt_id,
        "attempt": attempt,
        "status": status,
        "reasoning": None,
        "content": f"answer {prompt_id}/{attempt}",
        "finish_reason": "stop",
        "error": None,
        "prompt_tokens": 7,
        "completion_tokens": 11,
        "reasoning_tokens": 5,
        "latency_ms": 3,
        "teacher_id": 9,  # rollout.teachers: who wrote it
        "from_cache": False,
        "created_at": datetime.now(UTC),
    }
    return row | fields


def test_a_batch_writes_new_rows_and_replaces_only_failed_ones(accounts):
    from backend.core.db import session_scope
    from backend.samples.models import Generation
    from workers.stages.rollout.writer import upsert_generations

    pid = accounts.project(accounts.user())
    pset = make_prompt_set(pid, n=3)
    with session_scope() as s:
        run = make_run(s, project_id=pid, prompt_set_id=pset, stages={"rollout": "running"}, status="running")
        p0, p1, p2 = prompt_ids(s, pset)
        first = upsert_generations(
            s,
            [
                _row(run.id, p0, 0, reasoning=ODD, content=ODD),
                _row(run.id, p1, 0, "failed", content=None, finish_reason=None, error="timeout after 6 tries",
                     prompt_tokens=None, completion_tokens=None, latency_ms=None),
                _row(run.id, p2, 0, from_cache=True),
            ],
        )  # fmt: skip
        assert sorted((r[1], r[2], r[3]) for r in first) == sorted([(p0, 0, "ok"), (p1, 0, "failed"),
                                                                   (p2, 0, "ok")])  # fmt: skip
        # a retried batch: the successes stay as they were, the failure is replaced, a new attempt lands
        again = upsert_generations(
            s,
            [
                _row(run.id, p0, 0, content="must not replace a success"),
                _row(run.id, p1, 0, content="now it answered"),
                _row(run.id, p1, 1, content=None, reasoning="cut", finish_reason="length"),
            ],
        )
        assert sorted((r[1], r[2], r[3]) for r in again) == [(p1, 0, "ok"), (p1, 1, "ok")]
        replaced = {r[1:3]: r[0] for r in again}
        assert replaced[(p1, 0)] == next(r[0] for r in first if r[1] == p1)  # the same row, updated
        got = {
            (g.prompt_id, g.attempt): g
            for g in s.scalars(select(Generation).where(Generation.run_id == run.id))
        }
        assert len(got) == 4
        assert (got[(p0, 0)].content, got[(p0, 0)].reasoning) == (ODD, ODD)
        assert {g.reasoning_tokens for g in got.values()} == {5}  # every column of the row is written
        assert {g.teacher_id for g in got.values()} == {9}
        assert (got[(p1, 0)].status, got[(p1, 0)].content, got[(p1, 0)].error) == (
            "ok",
            "now it answered",
            None,
        )
        assert (got[(p1, 1)].content, got[(p1, 1)].reasoning, got[(p1, 1)].finish_reason) == (
            None,
            "cut",
            "length",
        )
        assert got[(p2, 0)].from_cache is True and got[(p1, 0)].from_cache is False
        assert upsert_generations(s, []) == []


def test_a_cache_key_already_stored_keeps_its_first_generation(accounts):
    from backend.core.db import session_scope
    from backend.rollouts.models import ResponseCache
    from workers.stages.rollout.writer import insert_cache_entries

    pid = accounts.project(accounts.user())
    pset = make_prompt_set(pid, n=2)
    with session_scope() as s:
        run = make_run(s, project_id=pid, prompt_set_id=pset, stages={"rollout": "running"}, status="running")
        g0, g1 = make_generations(s, run)
        now = datetime.now(UTC)
        insert_cache_entries(s, [{"key": "a" * 64, "generation_id": g0, "created_at": now}])
        insert_cache_entries(
            s,
            [
                {"key": "a" * 64, "generation_id": g1, "created_at": now},
                {"key": "b" * 64, "generation_id": g1, "created_at": now},
            ],
        )
        insert_cache_entries(s, [])
        keys = dict(s.execute(select(ResponseCache.key, ResponseCache.generation_id)).tuples().all())
        assert {k: v for k, v in keys.items() if k in ("a" * 64, "b" * 64)} == {"a" * 64: g0, "b" * 64: g1}
