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


def test_demo_runs_profile_and_rollout_end_to_end(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISTILLERY_")}
    env["DISTILLERY_DATA_DIR"] = str(tmp_path / "var")
    proc = subprocess.run(
        [sys.executable, "-m", "backend.cli", "demo", "--port", str(free_port())],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "imported 200 prompts" in out and "succeeded" in out and "profile: 200 prompts" in out
    assert "rollout: 400 generations" in out

    db = tmp_path / "var" / "distillery.db"
    assert db.is_file() and (tmp_path / "var" / "broker" / "queue").is_dir()
    with sqlite3.connect(db) as conn:
        status, summary = conn.execute("select status, summary from runs order by id desc limit 1").fetchone()
        stages = conn.execute(
            "select kind, status, task_id, progress_done from run_stages order by position"
        ).fetchall()
        gens = conn.execute(
            "select count(*), count(distinct prompt_id * 10 + attempt) from generations"
        ).fetchone()
    assert status == "succeeded"
    assert json.loads(summary)["profile"]["prompt_count"] == 200
    assert stages[0][1:] == ("succeeded", stages[0][2], 200) and stages[0][2]
    assert stages[1][0] == "rollout" and stages[1][1] == "succeeded" and stages[1][3] == 400
    assert gens == (400, 400)  # SQLite too: one row per (prompt, attempt)


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
