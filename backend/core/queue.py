"""The Celery app as the api sees it: configuration and sending, never running.

backend never imports workers: a task is sent by its registered name (backend/runs/stages.py for stages,
backend/jobs/kinds.py for jobs) to its queue. workers/celery_app.py takes this same app and adds task
discovery and the worker's process hooks.

Embedded default: kombu's filesystem transport under DATA_DIR/broker, so one machine needs no Redis.
Production: DISTILLERY_BROKER_URL=redis://... and as many workers as there are hosts.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from celery import Celery
from kombu import Exchange, Queue

from backend.core.config import get_settings

log = logging.getLogger(__name__)
QUEUES = ("cpu", "gpu")


def _transport_options(settings) -> dict:
    if settings.celery_broker_url.startswith("filesystem"):
        folder = settings.broker_dir
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        return {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "control_folder": str(folder / "control"),
            "store_processed": False,
            "polling_interval": 0.2,
        }
    # Redis re-delivers an unacknowledged task (acks_late) after visibility_timeout, and a stage's
    # claim accepts a re-delivery (R -> R) as the sign its worker died: so the timeout must outlast the
    # longest task, or a 3-day training would get a second trainer on its checkpoints after 6 hours.
    from backend.runs.stages import STAGES

    longest = max([settings.task_soft_time_limit, *(k.time_limit_s or 0 for k in STAGES.values())])
    return {"visibility_timeout": longest + 600}


def make_celery() -> Celery:
    """queues cpu and gpu, late acks, one task prefetched at a time, no result backend."""
    settings = get_settings()
    app = Celery("distillery", broker=settings.celery_broker_url)
    app.conf.update(
        broker_transport_options=_transport_options(settings),
        broker_connection_retry_on_startup=True,
        task_queues=[Queue(q, Exchange(q), routing_key=q) for q in QUEUES],
        task_default_queue="cpu",
        task_acks_late=True,  # a killed worker's task goes back to the queue
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,  # state lives on run_stages and jobs, not in a result backend
        task_soft_time_limit=settings.task_soft_time_limit,
        task_time_limit=settings.task_soft_time_limit + 300,
        task_serializer="json",
        accept_content=["json"],
        worker_hijack_root_logger=False,
        enable_utc=True,
    )
    return app


@lru_cache
def get_celery() -> Celery:
    return make_celery()


def send(task: str, args: list, *, queue: str, time_limit_s: int | None = None) -> str:
    """Send a registered task by name; returns the Celery task id. A time limit (seconds) overrides
    the app's default for this one task: the soft limit raises inside the task, the hard one kills
    it 60 s later."""
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}; known: {QUEUES}")
    options = {}
    if time_limit_s is not None:
        options = {"soft_time_limit": time_limit_s, "time_limit": time_limit_s + 60}
    return get_celery().send_task(task, args=args, queue=queue, **options).id


def revoke(task_ids: list[str]) -> None:
    """Ask workers to drop these tasks. A courtesy: every task re-checks its row's status before it
    does any work, and the filesystem transport has no broadcast channel."""
    try:
        get_celery().control.revoke(task_ids)
    except Exception as exc:  # noqa: BLE001
        log.info("could not broadcast revoke (%s); workers will skip cancelled work", exc)
