"""Rows for tests that need a run in a given state without running it (after argilla's
tests/factories.py): a prompt set through the platform's import service, then runs, stages,
generations and verdicts as ORM rows with sane defaults. Each takes the caller's session and
flushes, so ids are there to use and one test's rows commit together."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from tests.support.env import DATA_DIR, unique
from tests.support.prompts import seed_prompt_set, write_jsonl


def make_project(s: Session, *, owner_id: int, name: str | None = None) -> int:
    """A project owned by user `owner_id` (through projects.service, so the owner's membership too)."""
    from backend.projects.service import create_project
    from backend.users.models import User

    return create_project(s, owner=s.get(User, owner_id), name=name or unique("project")).id


def make_prompt_set(
    project_id: int, rows: list[dict] | None = None, *, n: int = 3, name: str = "prompts"
) -> int:
    """A ready prompt set through the import service: `rows`, or n prompts "q0".."q{n-1}" with
    references "0".."{n-1}". Commits in a session of its own (as an import does)."""
    rows = rows if rows is not None else [{"prompt": f"q{i}", "reference": str(i)} for i in range(n)]
    folder = DATA_DIR / "factories"
    folder.mkdir(parents=True, exist_ok=True)
    return seed_prompt_set(project_id, write_jsonl(folder / f"{unique('prompts')}.jsonl", rows), name=name)


def prompt_ids(s: Session, prompt_set_id: int) -> list[int]:
    """The set's prompt ids in file order."""
    from backend.prompts.models import Prompt

    q = select(Prompt.id).where(Prompt.prompt_set_id == prompt_set_id).order_by(Prompt.position)
    return list(s.scalars(q))


def make_stage(s: Session, run, kind: str, *, status: str = "pending", position: int | None = None, **fields):
    """A stage of `run`, after its last one unless `position` says where."""
    from backend.runs.models import RunStage, Status

    if position is None:
        last = s.scalar(
            select(RunStage.position).where(RunStage.run_id == run.id).order_by(RunStage.position.desc())
        )
        position = 0 if last is None else last + 1
    stage = RunStage(run_id=run.id, position=position, kind=kind, status=Status(status), **fields)
    s.add(stage)
    s.flush()
    return stage


def make_run(
    s: Session,
    *,
    project_id: int,
    prompt_set_id: int | None = None,
    stages: Iterable[str] | Mapping[str, str] = (),
    status: str = "queued",
    recipe: dict[str, Any] | None = None,
    name: str | None = None,
    **fields,
):
    """A run row and its stages. `stages` is a list of kinds (each `pending`) or {kind: status}; the
    recipe defaults to the prompt set and those kinds (a test adds the settings it needs)."""
    from backend.runs.models import Run, Status

    stages = dict(stages) if isinstance(stages, Mapping) else dict.fromkeys(stages, "pending")
    if recipe is None:
        recipe = {"prompt_set_id": prompt_set_id} if prompt_set_id else {}
        recipe |= {"stages": list(stages)} if stages else {}
    run = Run(
        project_id=project_id,
        name=name or unique("run"),
        recipe=recipe,
        prompt_set_id=prompt_set_id,
        status=Status(status),
        **fields,
    )
    s.add(run)
    s.flush()
    for position, (kind, stage_status) in enumerate(stages.items()):
        make_stage(s, run, kind, status=stage_status, position=position)
    return run


def make_generations(
    s: Session,
    run,
    n: int | None = None,
    *,
    prompts: list[int] | None = None,
    each: Callable[[int], dict[str, Any]] | None = None,
    **fields,
) -> list[int]:
    """n generations of `run` (default: one a prompt of its prompt set), generation k on prompt
    k % len(prompts), attempt k // len(prompts); `fields` for all, `each(k)` per generation. Returns
    their ids in k order (one multi-row INSERT, on PostgreSQL and SQLite alike)."""
    from backend.samples.models import Generation

    prompts = prompts if prompts is not None else prompt_ids(s, run.prompt_set_id)
    n = len(prompts) if n is None else n
    rows = [
        {
            "run_id": run.id,
            "prompt_id": prompts[k % len(prompts)],
            "attempt": k // len(prompts),
            "status": "ok",
            "content": f"answer {k}",
            **fields,
            **(each(k) if each else {}),
        }
        for k in range(n)
    ]
    s.execute(insert(Generation), rows)
    q = select(Generation.id).where(Generation.run_id == run.id).order_by(Generation.id)
    return list(s.scalars(q))[-n:] if n else []


def make_verdicts(
    s: Session,
    run,
    generation_ids: list[int],
    *,
    verifier: str = "judge",
    each: Callable[[int], dict[str, Any]] | None = None,
    **fields,
) -> None:
    """A verdict of `verifier` on each generation (passed, status ok unless `fields` or `each(k)` say)."""
    from backend.samples.models import Verdict

    rows = [
        {
            "run_id": run.id,
            "generation_id": g,
            "verifier": verifier,
            "verifier_version": "1",
            "status": "ok",
            "passed": True,
            **fields,
            **(each(k) if each else {}),
        }
        for k, g in enumerate(generation_ids)
    ]
    s.execute(insert(Verdict), rows)


def make_artifact(
    s: Session,
    *,
    project_id: int,
    path: str = "/nonexistent/model",
    base_model: str = "tiny-student",
    **fields,
):
    """A model artifact row (a trained model as the train stage registers it), without its weights."""
    from backend.datasets.models import ModelArtifact

    art = ModelArtifact(
        project_id=project_id, base_model=base_model, method=fields.pop("method", "sft"), path=path, **fields
    )
    s.add(art)
    s.flush()
    return art
