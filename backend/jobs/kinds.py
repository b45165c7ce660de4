"""The job registry: long operations outside a run (imports, cleaning, synthesis), each with its task.

Like the stage registry, free of worker imports; workers/celery_app.py imports `module` and a test
checks that every task named here is registered in the worker.
"""

from __future__ import annotations

from dataclasses import dataclass

SERVE_MAX_S = 30 * 24 * 3600  # a served model stops after 30 days at the latest


@dataclass(frozen=True)
class JobKind:
    name: str
    task: str  # explicit Celery task name
    module: str  # the worker module whose import registers the task
    queue: str = "cpu"  # submit_job may name another (a probe of a local teacher goes to gpu)
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
        # a few short real requests to a teacher; the queue is the teacher's (gpu for a local one), and
        # the limit leaves room for a worker-started vLLM to load its model (VLLMServer.start: 600 s)
        JobKind("teacher_probe", "distillery.teachers.probe", "workers.jobs.teacher_probe", time_limit_s=900),
        # the run's filter verifiers on a reviewer's edit (backend/reviews/edits.py)
        JobKind("edit_verify", "distillery.reviews.verify_edit", "workers.jobs.edit_verify"),
        # a snapshot or a model pushed to the Hub (backend/hub/, docs/hub.md): an upload of up to several
        # GB, so the limit of a long download rather than the default
        JobKind("hub_push", "distillery.hub.push", "workers.jobs.hub_push", time_limit_s=6 * 3600),
        # a vLLM server over a trained student, held by a gpu worker until it is stopped
        # (backend/serving/): its limit is how long a served model may run at most
        JobKind(
            "serve", "distillery.serving.serve", "workers.jobs.serve", queue="gpu", time_limit_s=SERVE_MAX_S
        ),
    ]
}
