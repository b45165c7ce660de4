"""The Celery app: queues cpu and gpu, late acks, one task prefetched at a time.

Embedded default: kombu's filesystem transport under DATA_DIR/broker, so one machine needs no Redis.
Production: DISTILLERY_BROKER_URL=redis://... and as many workers as there are hosts.
"""

from __future__ import annotations

from celery import Celery
from celery.signals import worker_process_init
from kombu import Exchange, Queue

from backend.core.config import get_settings


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
    return {"visibility_timeout": settings.task_soft_time_limit + 600}


def make_celery() -> Celery:
    settings = get_settings()
    app = Celery(
        "distillery",
        broker=settings.celery_broker_url,
        include=["workers.tasks.profile", "workers.tasks.prompt_sets", "workers.tasks.rollout"],
    )
    app.conf.update(
        broker_transport_options=_transport_options(settings),
        broker_connection_retry_on_startup=True,
        task_queues=[Queue(q, Exchange(q), routing_key=q) for q in ("cpu", "gpu")],
        task_default_queue="cpu",
        task_acks_late=True,  # a killed worker's task goes back to the queue
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,  # state lives on run_stages, not in a result backend
        task_soft_time_limit=settings.task_soft_time_limit,
        task_time_limit=settings.task_soft_time_limit + 300,
        task_serializer="json",
        accept_content=["json"],
        worker_hijack_root_logger=False,
        enable_utc=True,
    )
    return app


celery_app = make_celery()


@worker_process_init.connect
def _fresh_engine_per_child(**_):
    # Connections must not cross a fork.
    from backend.core.db import get_engine

    get_engine().dispose(close=False)
