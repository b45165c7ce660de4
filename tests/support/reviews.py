"""A run whose review stage is waiting, with generations routed into its queue (no worker needed)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from tests.support.env import unique
from tests.support.factories import make_generations, make_run
from tests.support.prompts import seed_prompt_set, write_jsonl


def seed_review_run(
    accounts, tmp_path: Path, *, items: int, overlap_share: float, reviewers: int, routed: bool = True
):
    """(project id, run id, reviewer ids, owner) for a running review stage with `items` generations."""
    from backend.core.db import session_scope
    from backend.projects.models import Membership, Role
    from backend.reviews.routing import route
    from backend.reviews.schemas import ReviewSettings
    from backend.runs.models import RunStage

    owner = accounts.user()
    people = [accounts.user() for _ in range(reviewers)]
    pid = accounts.project(owner)

    rows = [{"prompt": f"question {i}", "reference": str(i)} for i in range(items)]
    pset = seed_prompt_set(pid, write_jsonl(tmp_path / f"{unique('q')}.jsonl", rows))
    recipe = {"prompt_set_id": pset, "stages": ["rollout", "filter", "review"], "review": {"lease_s": 600}}
    with session_scope() as s:
        for u in people:
            s.add(Membership(project_id=pid, user_id=u["id"], role=Role.reviewer))
        stages = {"rollout": "succeeded", "filter": "succeeded", "review": "running"}
        run = make_run(s, project_id=pid, prompt_set_id=pset, stages=stages, status="running", recipe=recipe)
        gids = make_generations(s, run, each=lambda k: {"content": f"Answer: {k}"})
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
