"""Batch mode's pieces on the rollout side: a chunk's ledger (StageChunk.batch) and its batch client.

The client (workers/teachers/openai_batch.py) answers as any teacher backend does, so the chunk's
writer, counters and cost are online mode's; only where the requests go differs.
"""

from __future__ import annotations

from typing import Any

from backend.core.config import get_settings
from backend.core.db import session_scope
from backend.runs.models import Run, RunStage, StageChunk, Status
from workers.stages.rollout.job import ChunkJob, sampling_of
from workers.teachers.openai_batch import OpenAIBatchClient


class ChunkLedger:
    """A chunk's batch state, committed at once: it must be there when the next task looks."""

    def __init__(self, chunk_id: int) -> None:
        self.chunk_id = chunk_id

    def load(self) -> dict[str, Any]:
        with session_scope() as s:
            return dict(s.get_one(StageChunk, self.chunk_id).batch or {})

    def save(self, state: dict[str, Any]) -> None:
        with session_scope() as s:
            s.get_one(StageChunk, self.chunk_id).batch = dict(state)


def _stage_running(stage_id: int) -> bool:
    with session_scope() as s:
        stage = s.get_one(RunStage, stage_id)
        return stage.status == Status.running and s.get_one(Run, stage.run_id).status == Status.running


def batch_client(job: ChunkJob) -> OpenAIBatchClient:
    assert job.teacher.base_url is not None  # build_job refuses batch mode without one
    return OpenAIBatchClient(
        base_url=job.teacher.base_url,
        model=job.teacher.model,
        api_key=job.teacher.api_key,
        ledger=ChunkLedger(job.chunk_id),
        still_running=lambda: _stage_running(job.stage_id),
        sampling=sampling_of(job.settings, job.teacher),
        poll_s=get_settings().batch_poll_s,
        timeout_s=job.settings.timeout_s,
    )
