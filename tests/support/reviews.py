"""A run whose review stage is waiting, with generations routed into its queue (no worker needed)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tests.support.env import unique
from tests.support.factories import make_generations, make_run
from tests.support.prompts import seed_prompt_set, write_jsonl


def seed_review_run(
    accounts, tmp_path: Path, *, items: int, overlap_share: float, reviewers: int, routed: bool = True,
    each: Callable[[int], dict[str, Any]] | None = None, recipe: dict[str, Any] | None = None,
    prompts: list[dict[str, Any]] | None = None,
):  # fmt: skip
    """(project id, run id, reviewer ids, owner) for a running review stage with `items` generations
    (generation k's fields from `each`, default content "Answer: k"; `recipe` keys over the default
    recipe, whose stages before review have succeeded and after it wait; `prompts` the prompt rows)."""
    from backend.core.db import session_scope
    from backend.projects.models import Membership, Role
    from backend.reviews.routing import route
    from backend.reviews.schemas import ReviewSettings
    from backend.runs.models import RunStage

    owner = accounts.user()
    people = [accounts.user() for _ in range(reviewers)]
    pid = accounts.project(owner)

    rows = prompts or [{"prompt": f"question {i}", "reference": str(i)} for i in range(items)]
    pset = seed_prompt_set(pid, write_jsonl(tmp_path / f"{unique('q')}.jsonl", rows))
    recipe = {
        "prompt_set_id": pset, "stages": ["rollout", "filter", "review"], "review": {"lease_s": 600},
        **(recipe or {}),
    }  # fmt: skip
    kinds = recipe["stages"]
    at = kinds.index("review")
    stages = {k: "succeeded" if i < at else "running" if i == at else "pending" for i, k in enumerate(kinds)}
    with session_scope() as s:
        for u in people:
            s.add(Membership(project_id=pid, user_id=u["id"], role=Role.reviewer))
        run = make_run(s, project_id=pid, prompt_set_id=pset, stages=stages, status="running", recipe=recipe)
        gids = make_generations(s, run, n=items, each=each or (lambda k: {"content": f"Answer: {k}"}))
        if not routed:
            return pid, run.id, [u["id"] for u in people], owner
        settings = ReviewSettings(overlap_share=overlap_share, seed=1)
        slots = route(
            s, run_id=run.id, pages=lambda: [[(g, "judge_unsure") for g in gids]], settings=settings
        )
        # what the review stage's task does once the queue is filled
        stage = s.scalar(select(RunStage).where(RunStage.run_id == run.id, RunStage.kind == "review"))
        stage.progress_total = slots
        return pid, run.id, [u["id"] for u in people], owner
