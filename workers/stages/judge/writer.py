"""Batched, idempotent writes of a judge chunk: verdicts upserted on (generation, "judge", rubric
version), the reply cache, the decision of attempts no verifier decided, and the chunk's counters."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from backend.core.config import get_settings
from backend.core.db import dialect_insert, session_scope, storable
from backend.judge.models import JudgeCache
from backend.runs.chunks import add_counters
from backend.runs.models import RunStage, StageChunk, Status
from backend.samples.models import Verdict
from workers.stages.judge.job import JudgeJob, verdict_of
from workers.teachers.base import Completion
from workers.verdicts import verdict_row, write_verdicts

OUTCOME = {
    "passed": "accepted",
    "wrong": "rejected",
    "unsure": "unsure",
    "unparseable": "unparseable",
    "error": "errors",
}
FALLBACK = "judge reply unparseable; verifier decided"


@dataclass
class Judged:
    generation_id: int
    filter_passed: bool | None  # the verifiers' decision, None when they could not decide
    completion: Completion
    key: str
    from_cache: bool = False


class JudgeWriter:
    def __init__(self, job: JudgeJob, write_progress):
        self.job, self._write_progress = job, write_progress
        self._interval = get_settings().progress_interval_s
        self._last = float("-inf")

    def start(self, generation_ids) -> None:
        """The chunk's counters from the verdicts already stored; money spent stays counted."""
        with session_scope() as s:
            rows = s.execute(
                select(Verdict.status, func.count())
                .where(
                    Verdict.run_id == self.job.run_id,
                    Verdict.verifier == "judge",
                    Verdict.verifier_version == self.job.version,
                    Verdict.generation_id.in_(generation_ids),
                    Verdict.status != "error",
                )
                .group_by(Verdict.status)
            ).all()
            chunk = s.get_one(StageChunk, self.job.chunk_id)
            kept = {
                k: (chunk.counters or {}).get(k, 0)
                # counted as they happen: a judged attempt is never judged again, so kept as they are
                for k in ("cost_usd", "prompt_tokens", "completion_tokens", "cached", "verifier_decided")
            }
            counts = Counter({OUTCOME[st]: n for st, n in rows})
            chunk.counters = {
                **kept,
                "judged": sum(counts.values()),
                "errors": 0,
                **{k: counts[k] for k in ("accepted", "rejected", "unsure", "unparseable")},
            }

    def flush(self, items: list[Judged]) -> Status:
        job, now = self.job, datetime.now(UTC)
        rows, decisions, cache = [], [], []
        counts: Counter[str] = Counter()
        tokens_in = tokens_out = 0
        for it in items:
            v = verdict_of(job, it.completion)
            decides = job.settings.overrides_verifiers or it.filter_passed is None
            accepted = v["passed"]
            if decides and v["status"] == "unparseable" and it.filter_passed is not None:
                # a reply the judge's rubric cannot read is no decision: the verifiers' verdict stands
                accepted = it.filter_passed
                v["detail"] = {**v["detail"], "final": FALLBACK, "verifier_passed": it.filter_passed}
                counts["verifier_decided"] += 1
            rows.append(
                verdict_row(
                    run_id=job.run_id, generation_id=it.generation_id, verifier="judge", version=job.version,
                    status=v["status"], passed=v["passed"], score=v["score"], detail=v["detail"],
                    duration_ms=float(it.completion.latency_ms or 0), now=now,
                )
            )  # fmt: skip
            counts[OUTCOME[v["status"]]] += 1
            counts["judged"] += v["status"] != "error"
            if decides and v["status"] != "error":
                decisions.append({"id": it.generation_id, "accepted": accepted})
            c = it.completion
            if it.from_cache:
                counts["cached"] += 1
            elif c.ok:
                tokens_in += c.prompt_tokens or 0
                tokens_out += c.completion_tokens or 0
                cache.append(
                    {
                        "key": it.key,
                        "content": storable(c.content or ""),
                        "prompt_tokens": c.prompt_tokens,
                        "completion_tokens": c.completion_tokens,
                        "created_at": now,
                    }
                )
        with session_scope() as s:
            write_verdicts(s, rows, decisions)
            if cache:
                s.execute(dialect_insert()(JudgeCache).on_conflict_do_nothing(index_elements=["key"]), cache)
            more: dict[str, Any] = {**counts, "prompt_tokens": tokens_in, "completion_tokens": tokens_out}
            if job.quote is not None:
                more["cost_usd"] = job.quote.cost(
                    prompt_tokens=tokens_in, completion_tokens=tokens_out, gpu_seconds=0.0
                )
            chunk = s.get_one(StageChunk, job.chunk_id)
            chunk.counters = add_counters(chunk.counters or {}, more)
            chunk.heartbeat_at = now
            stage = s.get_one(RunStage, job.stage_id)
            if time.monotonic() - self._last >= self._interval:
                self._last = time.monotonic()
                s.flush()
                self._write_progress(s, stage=stage)
            return stage.status
