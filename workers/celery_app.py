"""The worker's Celery app: backend's send-only app (backend/core/queue.py) plus task discovery and
the worker process hooks. Which modules define tasks comes from the stage and job registries, so a
new stage is found without an edit here.
"""

from __future__ import annotations

from celery.signals import worker_process_init

from backend.core.queue import get_celery
from backend.jobs.kinds import JOBS
from backend.runs.stages import STAGES


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
