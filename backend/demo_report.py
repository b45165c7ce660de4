"""The demo's table and var/demo/report.json, from the finished runs."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from backend.demo_flow import EXTRA_LABELS
from backend.experiments.factors import eval_set

EXPLAIN = (
    "What this shows: the teacher has a systematic habit. On x8 and x9 problems it usually skips its "
    "working and, too small to multiply in its head, gets the product wrong; at temperature 1.0 it still "
    "works some of them out, and then it is right. The verified arm samples each prompt until two "
    "attempts pass the verifier (at most eight), so the hard prompts get the extra attempts, and keeps "
    "only those worked, correct traces: the student learns to work every problem, x8 and x9 included. "
    "Trained on three plain attempts per prompt, all kept, it copies the habit too; on the verified "
    "answers without their reasoning it has nothing to learn the method from. Filtering pays here "
    "because the teacher's errors are systematic; with errors that were sampling noise alone it would "
    "matter less."
)


def _models(run: dict) -> dict[str, dict]:
    return {m["role"]: m for m in run["summary"]["evaluate"]["models"]}


def _arm(values: list[float]) -> float | dict[str, Any]:
    if len(values) == 1:
        return values[0]
    return {
        "mean": round(statistics.mean(values), 4),
        "min": min(values),
        "max": max(values),
        "seeds": values,
    }


def build_report(runs: list[dict], wall_s: float) -> dict[str, Any]:
    by_arm: dict[str, list[dict]] = {}
    for r in runs:
        by_arm.setdefault(r["arm"], []).append(r)
    first = by_arm["verified"][0]
    models = _models(first)
    # per-sample accuracy from the plain attempts: the adaptive rollout samples hard prompts more
    plain = by_arm["unfiltered"][0]["summary"]["filter"]
    adaptive = first["summary"]["filter"]
    return {
        "teacher_greedy": models["teacher"]["pass_at_1"],
        "teacher_sampled": plain["acceptance_rate"],
        "filtered_share": round(1 - plain["acceptance_rate"], 4),
        "keep": first["recipe"]["rollout"]["stop_when_verified"],
        "attempts_drawn": adaptive["verified"],
        "verified_traces": adaptive["accepted"],
        "prompts_solved": adaptive["prompts_solved"],
        "train_prompts": adaptive["prompts"],
        "base_student": models["base"]["pass_at_1"],
        "student_verified": _arm([_models(r)["student"]["pass_at_1"] for r in by_arm["verified"]]),
        "student_unfiltered": _arm([_models(r)["student"]["pass_at_1"] for r in by_arm["unfiltered"]]),
        "student_answers_only": _arm([_models(r)["student"]["pass_at_1"] for r in by_arm["answers_only"]]),
        "teacher_params": models["teacher"]["params"],
        "student_params": models["student"]["params"],
        "param_ratio": first["summary"]["evaluate"]["comparison"]["param_ratio"],
        "eval_prompts": first["summary"]["evaluate"]["prompts"],
        # the extra arms that ran (backend/demo_flow.py's EXTRA_ARMS), each its student's accuracy
        "extra_arms": {
            arm: _arm([_models(r)["student"]["pass_at_1"] for r in rs])
            for arm, rs in by_arm.items()
            if arm in EXTRA_LABELS
        },
        "runs": {r["arm"] + f"/seed{r['seed']}": r["id"] for r in runs},
        "wall_s": round(wall_s, 1),
    }


EXPERIMENT = "demo: verified, unfiltered, answers only"


def save_experiment(api: Any, pid: int, runs: list[dict]) -> int:
    """The report's runs as one experiment of the project (the Experiments page's table: factors, scores
    with intervals, cost per point); a demo run again replaces it with its own runs."""
    shared = eval_set(runs[0]["recipe"])  # an arm evaluated on other prompts would not compare
    run_ids = [r["id"] for r in runs if eval_set(r["recipe"]) == shared]
    for e in api("GET", f"/api/projects/{pid}/experiments"):
        if e["name"] == EXPERIMENT:
            if e["run_ids"] == run_ids:
                return e["id"]
            api("DELETE", f"/api/projects/{pid}/experiments/{e['id']}")
    made = api("POST", f"/api/projects/{pid}/experiments", json={"name": EXPERIMENT, "run_ids": run_ids})
    return made["id"]


def _pct(v) -> str:
    if isinstance(v, dict):
        return f"{v['mean']:.1%} ({v['min']:.1%}-{v['max']:.1%}, {len(v['seeds'])} seeds)"
    return f"{v:.1%}"


def print_report(report: dict[str, Any], path: Path, console: Console) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1) + "\n")
    table = Table(title=f"held-out accuracy ({report['eval_prompts']} prompts, greedy)")
    table.add_column("model")
    table.add_column("parameters", justify="right")
    table.add_column("accuracy", justify="right")
    t, s = report["teacher_params"], report["student_params"]
    table.add_row("teacher (greedy)", f"{t:,}", _pct(report["teacher_greedy"]))
    table.add_row("teacher (sampled, T=1.0)", f"{t:,}", _pct(report["teacher_sampled"]))
    table.add_row("student before training", f"{s:,}", _pct(report["base_student"]))
    table.add_row("student on verified traces", f"{s:,}", _pct(report["student_verified"]))
    table.add_row("student on unfiltered traces", f"{s:,}", _pct(report["student_unfiltered"]))
    table.add_row("student on answers only", f"{s:,}", _pct(report["student_answers_only"]))
    for arm, value in report["extra_arms"].items():
        table.add_row(EXTRA_LABELS[arm], f"{s:,}", _pct(value))
    console.print(table)
    console.print(
        f"the verifier fails {report['filtered_share']:.1%} of the teacher's plain attempts; sampling "
        f"until {report['keep']} passed drew {report['attempts_drawn']:,} attempts for "
        f"{report['train_prompts']:,} prompts and kept {report['verified_traces']:,} "
        f"({report['prompts_solved']:,} prompts solved); "
        f"the student is {report['param_ratio']}x smaller; wall time {report['wall_s']:.0f} s; "
        f"written to {path}"
    )
    console.print(EXPLAIN)
