"""The Experiments page in headless Chromium (frontend/e2e/experiments.mjs): reached from the project
navigation, an experiment's table over runs in given states (factors, scores with intervals, gain, cost
per point) and a pressure test's verdict, screenshotted light and dark. Real uvicorn on the test
PostgreSQL database."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.experiments import evaluated_runs, pressure_experiment

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "frontend"

pytestmark = pytest.mark.e2e


def test_the_experiments_page_light_and_dark(server, client, accounts, tmp_path):
    assert shutil.which("node"), "node is required for the dashboard test"
    user = accounts.user(password="experiments-pass-1")
    pid = accounts.project(user)
    h = user["headers"]
    runs = evaluated_runs(pid, tmp_path)
    body = {"name": "filter and attempts", "run_ids": [runs["a"], runs["b"]]}
    assert client.post(f"/api/projects/{pid}/experiments", headers=h, json=body).status_code == 201
    pressure_experiment(pid, tmp_path, name="pressure test 1: tiny")
    artifacts = Path(os.environ.get("DISTILLERY_E2E_ARTIFACTS", ROOT / "tests" / "e2e" / "artifacts"))
    artifacts.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        ["node", "e2e/experiments.mjs"],
        cwd=FRONTEND,
        capture_output=True,
        text=True,
        timeout=300,
        env={
            **os.environ,
            "BASE_URL": server,
            "E2E_EMAIL": user["email"],
            "E2E_PASSWORD": "experiments-pass-1",
            "E2E_PROJECT": client.get(f"/api/projects/{pid}", headers=h).json()["name"],
            "E2E_EXPERIMENT": "filter and attempts",
            "E2E_PRESSURE": "pressure test 1: tiny",
            "E2E_SCREENSHOT_DIR": str(artifacts),
        },
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "shows its factors, gain and cost per point" in proc.stdout
    assert "the pressure test's verdict: material" in proc.stdout
    for name in ("experiments", "experiments-pressure"):
        for theme in ("light", "dark"):
            shot = artifacts / f"{name}-{theme}.png"
            assert shot.is_file() and shot.stat().st_size > 1000, shot
