"""The stage kinds a recipe may name, and the Celery queue and task each runs on.

Kept free of worker imports so the api can validate recipes without loading the ML stack.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StageKind:
    name: str
    queue: str  # "cpu" or "gpu"
    task: str  # explicit Celery task name
    help: str


STAGES: dict[str, StageKind] = {
    s.name: s
    for s in [
        StageKind(
            "profile",
            "cpu",
            "distillery.stage.profile",
            "Prompt count and length percentiles, stored on the run.",
        ),
        StageKind(
            "rollout",
            "cpu",
            "distillery.stage.rollout",
            "The teacher writes n attempts per prompt; chunks run as tasks on the cpu queue (API teachers) "
            "or the gpu queue (vllm, transformers_local).",
        ),
    ]
}
