"""The worker's Celery app: backend's send-only app (backend/core/queue.py) plus task discovery, the
worker process hooks and the janitor (workers/keepalive.py) in the worker's main process. Which
modules define tasks comes from the stage and job registries, so a new stage is found without an
edit here.
"""

from __future__ import annotations

import os

from celery.signals import worker_process_init, worker_ready, worker_shutdown

from backend.core.config import get_settings
from backend.core.queue import get_celery
from backend.jobs.kinds import JOBS
from backend.runs.stages import STAGES
from workers.keepalive import Janitor


def task_modules() -> list[str]:
    """Every module a registry entry names, in registry order, once each."""
    return list(dict.fromkeys([k.module for k in STAGES.values()] + [k.module for k in JOBS.values()]))


# Progress bars are for terminals: in a worker each redraw of a download or a map became a log line of
# its own. The hub's (every download, and transformers' own bars follow it), datasets' and any other
# tqdm (TQDM_DISABLE, read by tqdm's constructor) are off before any of them is imported; the training
# arguments turn the Trainer's off (workers/training/config.py). Set here, so a child process that
# vLLM or accelerate starts inherits them. A user who wants bars sets the variable to 0.
QUIET_PROGRESS = {
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
    "TQDM_DISABLE": "1",
}
for _name, _value in QUIET_PROGRESS.items():
    os.environ.setdefault(_name, _value)

# A worker given its GPUs by DISTILLERY_WORKER_GPUS owns them for everything it runs, not only the vLLM
# servers it starts (workers/teachers/gpus.py): training and in-process teachers see the same devices.
if get_settings().worker_gpus:
    os.environ["CUDA_VISIBLE_DEVICES"] = get_settings().worker_gpus or ""

celery_app = get_celery()
celery_app.conf.include = task_modules()
# What a library prints to stderr is not a warning about the task (Celery's default level for it)
celery_app.conf.worker_redirect_stdouts_level = "INFO"


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
