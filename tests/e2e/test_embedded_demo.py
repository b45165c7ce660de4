"""`distillery demo` on the embedded default: SQLite file, filesystem broker, a real worker process."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from backend.core.net import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_demo_distils_end_to_end_on_the_embedded_default(tmp_path):
    """The demo's small size: every arm through the API and the worker, the table and report.json;
    a second run reuses what the first built and prints the same table."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISTILLERY_")}
    env["DISTILLERY_DATA_DIR"] = str(tmp_path / "var")
    argv = [sys.executable, "-m", "backend.cli", "demo", "--size", "small", "--port", str(free_port())]
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "student on verified traces" in out and "student on answers only" in out

    report = json.loads((tmp_path / "var" / "demo" / "report.json").read_text())
    for key in ("teacher_greedy", "teacher_sampled", "filtered_share", "base_student", "student_verified",
                "student_unfiltered", "student_answers_only"):  # fmt: skip
        assert 0 <= report[key] <= 1, key
    assert report["param_ratio"] >= 10 and report["wall_s"] > 0
    assert report["teacher_greedy"] > 0.5  # the shipped teacher has learned the task
    # adaptive sampling: a prompt stops once one attempt passed, so fewer than 4 per prompt were drawn
    assert report["keep"] == 1 and report["prompts_solved"] <= report["train_prompts"]
    assert report["verified_traces"] <= report["attempts_drawn"] < 4 * report["train_prompts"]

    db = tmp_path / "var" / "distillery.db"
    assert db.is_file() and (tmp_path / "var" / "broker" / "queue").is_dir()
    with sqlite3.connect(db) as conn:
        runs = conn.execute("select name, status from runs order by id").fetchall()
        kinds = conn.execute("select distinct kind from run_stages order by kind").fetchall()
    assert [s for _, s in runs] == ["succeeded"] * 3
    assert [k for (k,) in kinds] == ["evaluate", "filter", "rollout", "snapshot", "train"]

    again = subprocess.run(argv[:-1] + [str(free_port())], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=300)  # fmt: skip
    assert again.returncode == 0, (again.stdout + again.stderr)[-3000:]
    assert json.loads((tmp_path / "var" / "demo" / "report.json").read_text())["runs"] == report["runs"]


def test_default_secret_is_refused_outside_development(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISTILLERY_")}
    env.update(DISTILLERY_ENVIRONMENT="production", DISTILLERY_DATA_DIR=str(tmp_path))
    proc = subprocess.run(
        [sys.executable, "-m", "backend.cli", "migrate"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "DISTILLERY_SECRET_KEY is left at its development default" in proc.stderr
    assert not (tmp_path / "distillery.db").exists()
