"""`distillery runs ...`: the same recipe and services as the API, from a terminal."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import typer
from pydantic import ValidationError
from rich.console import Console

from backend.core.db import session_scope
from backend.core.errors import AppError
from backend.projects.service import find_project
from backend.rollouts import smoke
from backend.runs import lifecycle
from backend.runs.models import Run
from backend.runs.schemas import RunCreate
from backend.runs.service import create_run


def read_recipe(path: Path) -> dict:
    """A recipe file: YAML (the TRL / open-r1 style) or JSON."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise typer.BadParameter(f"{path}: not YAML: {exc}", param_hint="RECIPE") from None
    else:
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise typer.BadParameter(f"{path}: not JSON: {exc}", param_hint="RECIPE") from None
    if not isinstance(data, dict):
        raise typer.BadParameter(f"{path}: a recipe is a mapping of settings", param_hint="RECIPE")
    return data


def create_from_file(path: Path, *, project: str, name: str, console: Console) -> int:
    return create_from_recipe(read_recipe(path), project=project, name=name, console=console)


def create_from_recipe(recipe: dict, *, project: str, name: str, console: Console) -> int:
    """Validate a recipe (errors printed with their field paths), create the run and queue it."""
    try:
        data = RunCreate.model_validate({"name": name, "recipe": recipe})
    except ValidationError as exc:
        for e in exc.errors():
            console.print(f"[red]{'.'.join(map(str, e['loc']))}: {e['msg']}[/red]")
        raise typer.Exit(2) from None
    try:
        with session_scope() as s:
            try:
                proj = find_project(s, project)
            except AppError as exc:
                raise typer.BadParameter(exc.message, param_hint="--project") from None
            run = create_run(s, project=proj, user=None, data=data)
            lifecycle.enqueue_next_stage(s, run=run)
            run_id, stages = run.id, data.recipe.stages
    except AppError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"run {run_id} queued: {' -> '.join(stages)}")
    return run_id


def _line(stage) -> str:
    total = f"/{stage.progress_total:,}" if stage.progress_total is not None else ""
    err = f"  {stage.error}" if stage.error else ""
    return f"  {stage.kind:<10} {stage.status.value:<10} {stage.progress_done:,}{total}{err}"


def show(run_id: int, *, console: Console) -> int:
    with session_scope() as s:
        run = s.get(Run, run_id)
        if run is None:
            console.print(f"[red]no run {run_id}[/red]")
            return 1
        console.print(f"run {run.id} ({run.name}): {run.status.value}")
        for stage in lifecycle.stages_of(s, run=run):
            console.print(_line(stage))
            if stage.metrics:
                console.print(f"    {orjson.dumps(stage.metrics).decode()[:400]}")
            _print_smoke(stage, run.id, console)
            if stage.kind == "evaluate":
                _print_checkpoints(s, run, console)
            _print_teachers(s, stage, console)
        if run.error:
            console.print(f"[red]{run.error}[/red]")
        return 0 if run.status.value != "failed" else 1


def follow(run_id: int, *, console: Console, poll_s: float = 1.0) -> int:
    """Print each stage's progress as it changes, until the run ends; exit 0 only on success."""
    seen: dict[int, str] = {}
    while True:
        with session_scope() as s:
            run = s.get_one(Run, run_id)
            for stage in lifecycle.stages_of(s, run=run):
                line = _line(stage)
                if seen.get(stage.id) != line:
                    seen[stage.id] = line
                    console.print(line)
                if lifecycle.awaits_decision(stage) and seen.get(-stage.id) is None:
                    seen[-stage.id] = "smoke"  # once: people decide here, in the dashboard or the API
                    _print_smoke(stage, run.id, console)
            status = run.status
            error = run.error
        if status.finished:
            console.print(f"run {run_id}: {status.value}" + (f": {error}" if error else ""))
            return 0 if status.value == "succeeded" else 1
        time.sleep(poll_s)


def _print_teachers(s, stage, console: Console) -> None:
    """Which teacher taught what (rollout.teachers, train.teachers): attempts per teacher on a rollout,
    prompts and rows on a snapshot, prompts and samples scored on a routed distillation."""
    from backend.teachers.models import Teacher

    taught = (stage.metrics or {}).get("teachers")
    if not taught:
        return
    console.print("    teachers:")
    if isinstance(taught, dict):  # the rollout's: attempts per teacher id
        for tid, n in taught.items():
            t = s.get(Teacher, int(tid))
            console.print(f"      {t.name if t else '(deleted)'} (id {tid}): {n:,} attempts")
        return
    for t in taught:
        what = f"{t['rows']:,} rows" if "rows" in t else f"{t.get('scored', 0):,} samples scored"
        console.print(
            f"      {t.get('name') or '(deleted)'} (id {t['teacher_id']}): {t['prompts']:,} prompts, {what}"
        )


def _print_smoke(stage, run_id: int, console: Console) -> None:
    """A rollout's smoke sample (rollout.smoke): its acceptance, a few verdicts, and what to do next."""
    smoke = (stage.metrics or {}).get("smoke") if stage.kind == "rollout" else None
    if not smoke:
        return
    console.print(
        f"    smoke sample: {smoke['accepted']} of {smoke['attempts']} attempts accepted "
        f"({smoke['acceptance']:.0%}; floor {smoke['min_accept']:.0%}): {smoke['decision']}"
    )
    for v in smoke["verdicts"]:
        why = "; ".join(f"{r['verifier']} {r['status']}" + (f": {r['reason']}" if r["reason"] else "")
                        for r in v["reasons"])  # fmt: skip
        text = " ".join(v["excerpt"].split())[:80]
        console.print(
            f"      prompt {v['prompt_id']} #{v['attempt']} {_outcome(v['accepted'])}: {why} | {text}"
        )
    if smoke["decision"] == "pending":
        console.print(f"    decide: distillery runs smoke {run_id} --continue (or --cancel)")


def _print_checkpoints(s, run: Run, console: Console) -> None:
    """Accuracy against step (evaluate.checkpoints): one row per checkpoint evaluated so far."""
    from rich.table import Table

    from backend.evals.service import checkpoint_curve

    points = checkpoint_curve(s, run=run)
    if not points:
        return
    table = Table("step", "pass@1", "95% interval", "pass@k", "maj@k", "samples", "train loss", "evaluation",
                  title="accuracy per checkpoint", title_justify="left")  # fmt: skip
    for p in points:
        lo, hi = p.pass_at_1_ci
        loss = "-" if p.loss is None else f"{p.loss:.4f}"
        table.add_row(str(p.step), f"{p.pass_at_1:.1%}", f"{lo:.1%} to {hi:.1%}", f"{p.pass_at_k:.1%}",
                      f"{p.maj_at_k:.1%}", str(p.samples), loss, str(p.evaluation_id))  # fmt: skip
    console.print(table)


def checkpoints(run_id: int, *, console: Console) -> int:
    """`distillery runs checkpoints RUN`: the per-step table alone (while the stage runs, too)."""
    with session_scope() as s:
        run = s.get(Run, run_id)
        if run is None:
            console.print(f"[red]no run {run_id}[/red]")
            return 1
        if not (run.recipe.get("evaluate") or {}).get("checkpoints"):
            console.print(f"run {run_id} evaluates no checkpoints (its recipe has no evaluate.checkpoints)")
            return 1
        _print_checkpoints(s, run, console)
    return 0


def _outcome(accepted: bool | None) -> str:
    return "accepted" if accepted else "rejected" if accepted is False else "undecided"


def decide_smoke(run_id: int, *, go_on: bool, console: Console) -> int:
    """A decision on a smoke sample below its floor, as POST .../runs/{id}/smoke takes it."""
    try:
        with session_scope() as s:
            run = s.get(Run, run_id)
            if run is None:
                console.print(f"[red]no run {run_id}[/red]")
                return 1
            run = smoke.decide(s, run=run, decision="continue" if go_on else "cancel")
            status = run.status.value
    except AppError as exc:
        console.print(f"[red]{exc.message}[/red]")
        return 1
    console.print(f"run {run_id}: {'the rollout goes on' if go_on else 'cancelled'} ({status})")
    return 0
