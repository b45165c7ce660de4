"""`distillery runs benchmarks RUN`: a run's benchmark scores as a table, one row per model and task."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from backend.core.db import session_scope
from backend.evals.benchmarks import results_of
from backend.runs.models import Run


def _fmt(v: float | None) -> str:
    return "–" if v is None else f"{v:.4f}"


def show_benchmarks(run_id: int, *, console: Console) -> int:
    with session_scope() as s:
        run = s.get(Run, run_id)
        if run is None:
            console.print(f"[red]no run {run_id}[/red]")
            return 1
        rows = results_of(s, run=run)
        if not rows:
            console.print(f"run {run_id} has no benchmark results (yet)")
            return 0
        table = Table("model", "role", "task", "metric", "value", "± stderr", "docs", "config hash")
        for r in rows:
            for key, value in sorted(r.metrics.items()):
                metric, _, filt = key.partition(",")
                if metric.endswith("_stderr"):
                    continue
                stderr = r.metrics.get(f"{metric}_stderr,{filt}")
                name = f"{metric} ({filt})" if filt and filt != "none" else metric
                table.add_row(r.label, r.role, r.task, name, _fmt(value), _fmt(stderr), str(r.samples),
                              r.config_hash[:12])  # fmt: skip
        console.print(table)
        console.print(f"lm-eval {rows[0].lm_eval_version}")
        return 0
