"""`distillery train RECIPE.yaml --project P`: a run whose stages end with train, from a terminal.

The file is either a whole recipe (the one the API takes; train is appended to its stages when
missing) or, in the TRL / open-r1 style, just the train settings (student, method, learning_rate...),
which trains an existing snapshot (--snapshot or snapshot_id in the file). Backend code only: a worker
does the training.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from backend.core.db import session_scope
from backend.core.errors import AppError
from backend.datasets.models import DatasetSnapshot
from backend.runs.cli import create_from_recipe, find_project, read_recipe
from backend.runs.models import Run
from backend.training.schemas import SETTINGS_OF


def recipe_for(data: dict, *, snapshot: int | None) -> dict:
    """The whole recipe from a file's contents and --snapshot."""
    if "stages" not in data and "train" not in data:
        unknown = set(data) - {f for model in SETTINGS_OF.values() for f in model.model_fields}
        if unknown:
            raise typer.BadParameter(
                f"{sorted(unknown)} are not train settings; a whole recipe has 'stages' and 'train'",
                param_hint="RECIPE",
            )
        data = {"stages": ["train"], "train": data}
    recipe = {**data, "train": dict(data.get("train") or {})}
    stages = list(recipe.get("stages") or [])
    if "train" not in stages:
        stages.append("train")
    recipe["stages"] = stages
    if snapshot is not None:
        recipe["train"]["snapshot_id"] = snapshot
        if stages[0] != "train":
            raise typer.BadParameter("--snapshot trains an existing snapshot: stages must be just train")
    return recipe


def _prompt_set_of_snapshot(project: str, snapshot_id: int) -> int | None:
    """A train-only run still names a prompt set: that of the run the snapshot was cut from."""
    with session_scope() as s:
        try:
            proj = find_project(s, project)
        except AppError as exc:
            raise typer.BadParameter(exc.message, param_hint="--project") from None
        snap = s.get(DatasetSnapshot, snapshot_id)
        if snap is None or snap.project_id != proj.id:
            raise typer.BadParameter(
                f"no snapshot {snapshot_id} in project {project!r}", param_hint="--snapshot"
            )
        run = s.get(Run, snap.run_id) if snap.run_id else None
        return run.prompt_set_id if run else None


def create_train_run(path: Path, *, project: str, name: str, snapshot: int | None, console: Console) -> int:
    recipe = recipe_for(read_recipe(path), snapshot=snapshot)
    snapshot_id = recipe["train"].get("snapshot_id")
    if "prompt_set_id" not in recipe and snapshot_id is not None:
        pset = _prompt_set_of_snapshot(project, int(snapshot_id))
        if pset is None:
            raise typer.BadParameter("the snapshot has no source run: give prompt_set_id in the recipe")
        recipe["prompt_set_id"] = pset
    return create_from_recipe(recipe, project=project, name=name, console=console)
