"""The job registry: long operations outside a run (imports, cleaning, synthesis), each with its task.

Like the stage registry, free of worker imports; workers/celery_app.py imports `module` and a test
checks that every task named here is registered in the worker.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class JobKind:
    name: str
    task: str  # explicit Celery task name
    module: str  # the worker module whose import registers the task
    queue: str = "cpu"
    time_limit_s: int | None = None  # None: DISTILLERY_TASK_SOFT_TIME_LIMIT


JOBS: dict[str, JobKind] = {
    k.name: k
    for k in [
        JobKind("prompt_import", "distillery.prompts.import", "workers.jobs.prompt_sets"),
        JobKind("prompt_derive", "distillery.prompts.derive", "workers.jobs.prompt_sets"),
        # waits on a remote teacher, not a GPU
        JobKind("prompt_synthesize", "distillery.prompts.synthesize", "workers.jobs.prompt_sets"),
        # queued by the three above once their prompts are committed (backend/prompts/search.py)
        JobKind("prompt_search_index", "distillery.prompts.search_index", "workers.jobs.prompt_search"),
    ]
}
