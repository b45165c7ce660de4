"""A run whose review stage is waiting, with generations routed into its queue (no worker needed)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import insert, select

from tests.conftest import seed_prompt_set, unique, write_jsonl


def seed_review_run(
    accounts, tmp_path: Path, *, items: int, overlap_share: float, reviewers: int, routed: bool = True
):
    """(project id, run id, reviewer ids, owner) for a running review stage with `items` generations."""
    from backend.core.db import session_scope
    from backend.prompts.models import Prompt
    from backend.reviews.routing import route
    from backend.reviews.schemas import ReviewSettings
    from backend.runs.models import Run, RunStage, Status
    from backend.samples.models import Generation

    owner = accounts.user()
    people = [accounts.user() for _ in range(reviewers)]
    pid = accounts.project(owner)
    from backend.projects.models import Membership, Role

    rows = [{"prompt": f"question {i}", "reference": str(i)} for i in range(items)]
    pset = seed_prompt_set(pid, write_jsonl(tmp_path / f"{unique('q')}.jsonl", rows))
    recipe = {"prompt_set_id": pset, "stages": ["rollout", "filter", "review"], "review": {"lease_s": 600}}
    with session_scope() as s:
        for u in people:
            s.add(Membership(project_id=pid, user_id=u["id"], role=Role.reviewer))
        run = Run(
            project_id=pid, name=unique("run"), recipe=recipe, prompt_set_id=pset, status=Status.running
        )
        s.add(run)
        s.flush()
        for i, kind in enumerate(recipe["stages"]):
            status = Status.running if kind == "review" else Status.succeeded
            s.add(RunStage(run_id=run.id, position=i, kind=kind, status=status))
        prompt_ids = list(
            s.scalars(select(Prompt.id).where(Prompt.prompt_set_id == pset).order_by(Prompt.id))
        )
        s.execute(insert(Generation), [
            {"run_id": run.id, "prompt_id": p, "attempt": 0, "status": "ok", "content": f"Answer: {k}"}
            for k, p in enumerate(prompt_ids)
        ])  # fmt: skip
        gids = list(s.scalars(select(Generation.id).where(Generation.run_id == run.id)))
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
