"""`distillery experiments ...`: the same services as the API, from a terminal."""

from __future__ import annotations

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from backend.core.db import session_scope
from backend.core.errors import AppError
from backend.experiments import pressure, service
from backend.experiments.schemas import ExperimentCreate, ExperimentDetail, PressureTestCreate
from backend.projects.service import find_project
from backend.runs import lifecycle
from backend.runs.cli import follow
from backend.teachers.cli import find_teacher


def _ci(s) -> str:
    return f"{s.pass_at_1:.1%} [{s.pass_at_1_ci[0]:.1%}, {s.pass_at_1_ci[1]:.1%}]" if s else "-"


def print_detail(d: ExperimentDetail, console: Console) -> None:
    console.print(f"experiment {d.id} ({d.name}, {d.kind}): {d.eval_set_label}")
    if d.pressure is not None:
        p = d.pressure
        console.print(f"  run {d.run_ids[0] if d.run_ids else '-'}: {p.status}")
        console.print(f"  teacher {_ci(p.teacher)}; base student {_ci(p.student)}")
        console.print(p.sentence or f"  no verdict: {p.error or 'the run has not finished'}")
        return
    table = Table(title=d.name)
    for col in ["run", *[f.name for f in d.factors], "student", "base", "gain (points)", "teacher $",
                "GPU-s", "$/point", "GPU-s/point"]:  # fmt: skip
        table.add_column(col)
    for r in d.rows:
        gain = (
            f"{r.gain.difference * 100:+.1f} [{r.gain.ci[0] * 100:+.1f}, {r.gain.ci[1] * 100:+.1f}]"
            if r.gain and r.gain.difference is not None and r.gain.ci else "-"
        )  # fmt: skip
        table.add_row(
            f"{r.run_id} {r.run_name}", *[str(r.factors.get(f.path)) for f in d.factors], _ci(r.student),
            _ci(r.base), gain, f"{r.teacher_usd:.4f}", f"{r.gpu_seconds:.1f}",
            "-" if r.usd_per_point is None else f"{r.usd_per_point:.4f}",
            "-" if r.gpu_seconds_per_point is None else f"{r.gpu_seconds_per_point:.1f}",
        )  # fmt: skip
    console.print(table)


def _project(s, ref: str):
    try:
        return find_project(s, ref)
    except AppError as exc:
        raise typer.BadParameter(exc.message, param_hint="--project") from None


def list_all(project: str, *, console: Console) -> int:
    with session_scope() as s:
        for e in service.list_experiments(s, project=_project(s, project)):
            console.print(f"{e.id}\t{e.kind}\t{e.name}\truns {','.join(map(str, e.run_ids))}")
    return 0


def show(project: str, experiment_id: int, *, console: Console) -> int:
    with session_scope() as s:
        try:
            exp = service.get_experiment(s, project=_project(s, project), experiment_id=experiment_id)
        except AppError as exc:
            console.print(f"[red]{exc.message}[/red]")
            return 1
        print_detail(service.detail(s, exp), console)
    return 0


def _validated(model, data: dict, console: Console):
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for e in exc.errors():
            console.print(f"[red]{'.'.join(map(str, e['loc']))}: {e['msg']}[/red]")
        raise typer.Exit(2) from None


def create(project: str, name: str, run_ids: list[int], *, console: Console) -> int:
    data = _validated(ExperimentCreate, {"name": name, "run_ids": run_ids}, console)
    try:
        with session_scope() as s:
            exp = service.create_experiment(s, project=_project(s, project), user=None, data=data)
            print_detail(service.detail(s, exp), console)
    except AppError as exc:
        console.print(f"[red]{exc.message}[/red]")
        return 1
    return 0


def derive(project: str, *, console: Console) -> int:
    with session_scope() as s:
        made = service.derive(s, project=_project(s, project))
        for e in made:
            console.print(f"{e.id}\t{e.name}\truns {','.join(map(str, e.run_ids))}")
    console.print(f"{len(made)} derived experiment(s)")
    return 0


def pressure_test(project: str, teacher: str, body: dict, *, wait: bool, console: Console) -> int:
    try:
        with session_scope() as s:
            proj = _project(s, project)
            try:
                t = find_teacher(s, proj.id, teacher)
            except AppError as exc:
                raise typer.BadParameter(exc.message, param_hint="--teacher") from None
            data = _validated(PressureTestCreate, {**body, "teacher_id": t.id}, console)
            exp, run = pressure.create_pressure_test(s, project=proj, user=None, data=data)
            lifecycle.enqueue_next_stage(s, run=run)
            exp_id, run_id, proj_ref = exp.id, run.id, str(proj.id)
    except AppError as exc:
        console.print(f"[red]{exc.message}[/red]")
        return 1
    console.print(f"pressure test {exp_id} queued: run {run_id}")
    if not wait:
        return 0
    follow(run_id, console=console)
    return show(proj_ref, exp_id, console=console)
