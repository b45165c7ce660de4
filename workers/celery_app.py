"""The worker's Celery app: backend's send-only app (backend/core/queue.py) plus task discovery, the
worker process hooks and the janitor (workers/keepalive.py) in the worker's main process. Which
modules define tasks comes from the stage and job registries, so a new stage is found without an
edit here.
"""

from __future__ import annotations

from celery.signals import worker_process_init, worker_ready, worker_shutdown

from backend.core.queue import get_celery
from backend.jobs.kinds import JOBS
from backend.runs.stages import STAGES
from workers.keepalive import Janitor


def task_modules() -> list[str]:
    """Every module a registry entry names, in registry order, once each."""
    return list(dict.fromkeys([k.module for k in STAGES.values()] + [k.module for k in JOBS.values()]))


celery_app = get_celery()
celery_app.conf.include = task_modules()


@worker_process_init.connect
def _fresh_engine_per_child(**_):
    # Connections must not cross a fork.
    from backend.core.db import get_engine

    get_engine().dispose(close=False)


_janitor = Janitor()


@worker_ready.connect
def _start_janitor(**_):
    # In the worker's main process, beside the task pool: re-queues stages whose worker was lost.
    _janitor.start()


@worker_shutdown.connect
def _stop_janitor(**_):
    _janitor.stop()
