"""Heartbeats that say "this task's process is alive", and the janitor that acts when they stop.

`beating(model, row_id)` wraps a stage or chunk body: a thread stamps the row's heartbeat_at every
quarter of DISTILLERY_STALE_AFTER_S while the body runs, so a body that is silent for a while
(vLLM loading a model, a long training step) never looks lost. A heartbeat older than the limit then
means the process died, which is what the janitor looks for.

The janitor is a timer thread in every worker's main process (started by workers/celery_app.py when
the worker is ready, so `distillery worker`, `up`, the demo, docker-compose and the tests all run it):
every quarter of the limit it re-queues stages that lost their worker (backend/runs/lifecycle.
requeue_stalled: row locks, SKIP LOCKED, at most DISTILLERY_MAX_REQUEUES times), sends again the task
of a stage queued past DISTILLERY_QUEUED_RESEND_AFTER_S (resend_queued: a broker that lost it), fails
jobs that lost theirs (fail_lost_jobs, code worker_lost; not on SQLite: a served student's job among
them), removes the teacher rows of served students that no longer run (serving.service.release_ended),
stops vLLM servers this host's dead workers left (vllm_records.reap_orphans) and deletes uploads
that no import will read (backend/jobs/uploads.sweep_orphans). It runs outside the task pool, so a
busy worker still checks.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import update

from backend.core.config import get_settings
from backend.core.db import session_scope
from backend.jobs.models import Job
from backend.runs.models import RunStage, StageChunk, Status

log = logging.getLogger(__name__)


def beat_interval_s() -> float:
    return get_settings().stale_after_s / 4


def chunks_held(task_id: str | None, chunk_id: int):
    """The rows a chunk task holds: every chunk it claimed (it takes over others), or just its own."""
    return StageChunk.task_id == task_id if task_id else StageChunk.id == chunk_id


@contextmanager
def beating(model: type[RunStage] | type[StageChunk] | type[Job], *where) -> Iterator[None]:
    """Stamp the heartbeat of the rows `where` selects every beat_interval_s() while the block runs
    (only rows still running or cancelling: one that ended or was re-queued is left alone)."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(beat_interval_s()):
            try:
                with session_scope() as s:
                    s.execute(
                        update(model)
                        .where(*where, model.status.in_([Status.running, Status.cancelling]))
                        .values(heartbeat_at=datetime.now(UTC))
                    )
            except Exception as exc:  # noqa: BLE001 - a missed beat is retried at the next one
                log.info("heartbeat of %s not written: %s", model.__tablename__, exc)

    thread = threading.Thread(target=loop, name=f"heartbeat-{model.__tablename__}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def janitor_pass() -> None:
    """One round of the janitor's checks; each is idempotent and safe beside other workers' rounds."""
    from backend.jobs.lifecycle import fail_lost_jobs
    from backend.jobs.uploads import sweep_orphans
    from backend.runs.lifecycle import requeue_stalled, resend_queued
    from backend.serving.service import release_ended
    from workers.teachers.vllm_records import reap_orphans

    with session_scope() as s:
        requeued = requeue_stalled(s)
    if requeued:
        log.warning("janitor: re-queued or ended stalled runs %s", requeued)
    with session_scope() as s:
        resent = resend_queued(s)
    if resent:
        log.warning("janitor: sent the tasks of long-queued stages %s again", resent)
    with session_scope() as s:
        lost = fail_lost_jobs(s)
    if lost:
        log.warning("janitor: jobs %s lost their worker and failed", lost)
    with session_scope() as s:
        released = release_ended(s)
    if released:
        log.warning("janitor: removed the teachers of served models %s that no longer run", released)
    folder = get_settings().data_dir / "vllm"
    if folder.is_dir():  # a dead worker's vLLM (a served student's included) stops holding the GPU
        reap_orphans(folder)
    with session_scope() as s:
        removed = sweep_orphans(s)
    if removed:
        log.info("janitor: removed %d orphaned uploads", removed)


class Janitor:
    """The timer thread; start() once per worker main process, stop() at shutdown."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="distillery-janitor", daemon=True)
        self._thread.start()
        log.info("janitor: checking every %.1f s for stages without a heartbeat", beat_interval_s())

    def _loop(self) -> None:
        while not self._stop.wait(beat_interval_s()):
            try:
                janitor_pass()
            except Exception:  # noqa: BLE001 - the database may be away for a moment; try next round
                log.exception("janitor pass failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
