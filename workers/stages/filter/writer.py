"""Batched, idempotent writes of a filter chunk: verdict rows, the generations' decision, counters.

Every batch is one transaction: verdicts upserted on (generation, verifier, version), so a retried or
re-queued chunk never duplicates one; `generations.accepted` set from the final verdict; the chunk's
counters advanced. A worker killed between batches loses only the batch it had not committed.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from backend.core.config import get_settings
from backend.core.db import session_scope
from backend.runs.chunks import add_counters
from backend.runs.models import RunStage, StageChunk, Status
from backend.samples.models import Generation, Verdict
from backend.verifiers.filter import pass_rate_bucket
from workers.verdicts import outcome, store_verdicts
from workers.verifiers.verdict import Verdict as Judged


class VerdictWriter:
    def __init__(self, *, stage_id: int, chunk_id: int, run_id: int, final: str, write_progress):
        self.stage_id, self.chunk_id, self.run_id, self.final = stage_id, chunk_id, run_id, final
        self._write_progress = write_progress  # (session, stage=) -> the stage's status
        self._interval = get_settings().progress_interval_s
        self._last_progress = float("-inf")

    def start(self, generation_ids) -> None:
        """Reset the chunk's counters from the verdicts already stored for its generations."""
        with session_scope() as s:
            rows = s.execute(
                select(Verdict.verifier, Verdict.status, func.count())
                .where(Verdict.run_id == self.run_id, Verdict.generation_id.in_(generation_ids))
                .group_by(Verdict.verifier, Verdict.status)
            ).all()
            by_verifier: dict[str, dict[str, int]] = {}
            counts: Counter[str] = Counter()
            for verifier, status, n in rows:
                by_verifier.setdefault(verifier, {})[status] = n
                if verifier == self.final:
                    counts["verified"] += n
                    counts[outcome(Judged(verifier, "", status).passed)] += n
            chunk = s.get_one(StageChunk, self.chunk_id)
            chunk.counters = {
                **{k: (chunk.counters or {}).get(k, 0) for k in ("verify_ms",)},
                "verified": counts["verified"],
                "accepted": counts["accepted"],
                "rejected": counts["rejected"],
                "undecided": counts["undecided"],
                **{f"v:{name}": statuses for name, statuses in by_verifier.items()},
            }

    def flush(self, ids: list[int], verdicts: list[Judged], verify_ms: float) -> Status:
        """Write one batch; returns the stage's status (the cancellation check)."""
        now = datetime.now(UTC)
        with session_scope() as s:
            counts, per_verifier = store_verdicts(s, run_id=self.run_id, ids=ids, verdicts=verdicts, now=now)
            chunk = s.get_one(StageChunk, self.chunk_id)
            more: dict[str, Any] = {**counts, "verify_ms": verify_ms}
            more.update({f"v:{name}": dict(c) for name, c in per_verifier.items()})
            chunk.counters = add_counters(chunk.counters or {}, more)
            chunk.heartbeat_at = now
            stage = s.get_one(RunStage, self.stage_id)
            if time.monotonic() - self._last_progress >= self._interval:
                self._last_progress = time.monotonic()
                s.flush()
                self._write_progress(s, stage=stage)
            return stage.status

    def finish(self, prompt_ids) -> None:
        """Per-prompt pass rates of the chunk's prompts, from the stored decisions."""
        with session_scope() as s:
            rows = s.execute(
                select(Generation.prompt_id, func.count(), func.count().filter(Generation.accepted.is_(True)))
                .where(
                    Generation.run_id == self.run_id,
                    Generation.prompt_id.in_(prompt_ids),
                    Generation.status == "ok",
                )
                .group_by(Generation.prompt_id)
            ).all()
            hist = Counter(pass_rate_bucket(acc, total) for _, total, acc in rows)
            chunk = s.get_one(StageChunk, self.chunk_id)
            chunk.counters = {
                **(chunk.counters or {}),
                "prompts": len(rows),
                "prompts_solved": sum(1 for _, _, acc in rows if acc),
                "pass_rate_histogram": dict(hist),
            }
