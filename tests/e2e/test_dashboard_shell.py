"""The dashboard shell's pages in headless Chromium (frontend/e2e/shell.mjs): log in, upload a prompt set
and see its bad row reported by line, import a good one and see its statistics, then launch make demo's
recipe from the wizard (rollout, math filter, snapshot, SFT, evaluation) and watch it succeed without
reloading. Real uvicorn on the test PostgreSQL database, the real Celery worker, the demo's tiny models."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.env import DATA_DIR

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "frontend"
TASK = ROOT / "examples" / "multiply"

pytestmark = pytest.mark.e2e


def _task():
    sys.path.insert(0, str(TASK))
    import student
    import task

    return task, student


def test_upload_a_prompt_set_and_launch_the_demo_recipe_from_the_wizard(
    server, client, accounts, celery_worker, tmp_path
):
    assert shutil.which("node"), "node is required for the dashboard test"
    task, student = _task()
    user = accounts.user(password="shell-pass-123")
    pid = accounts.project(user)
    h = user["headers"]
    project_name = client.get(f"/api/projects/{pid}", headers=h).json()["name"]
    teacher = {
        "name": "tiny-multiplier",
        "backend": "transformers_local",
        "model": str(TASK / "teacher"),
        "settings": {"batch_size": 64, "device": "cpu"},
    }
    assert client.post(f"/api/projects/{pid}/teachers", headers=h, json=teacher).status_code == 201
    base = student.build(DATA_DIR / "shell-e2e" / "student-base")

    rows = task.rows(120, seed=1)
    good = tmp_path / "multiply.jsonl"
    good.write_text("".join(json.dumps(r) + "\n" for r in rows))
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(rows[0]) + "\n" + json.dumps(rows[1]) + "\n" + '{"reference": "4"}\n')

    # Screenshots (light and dark) go where DISTILLERY_E2E_ARTIFACTS says, else beside the test's files.
    artifacts = Path(os.environ.get("DISTILLERY_E2E_ARTIFACTS", tmp_path / "artifacts"))
    artifacts.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        ["node", "e2e/shell.mjs"],
        cwd=FRONTEND,
        capture_output=True,
        text=True,
        timeout=900,
        env={
            **os.environ,
            "BASE_URL": server,
            "E2E_EMAIL": user["email"],
            "E2E_PASSWORD": "shell-pass-123",
            "E2E_PROJECT": project_name,
            "E2E_BAD_FILE": str(bad),
            "E2E_BAD_LINE": "3",
            "E2E_GOOD_FILE": str(good),
            "E2E_TEACHER": "tiny-multiplier",
            "E2E_STUDENT": str(base),
            "E2E_SCREENSHOT_DIR": str(artifacts),
            "E2E_TIMEOUT_MS": "780000",
        },
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "the bad row is reported: line 3" in proc.stdout
    runs = client.get(f"/api/projects/{pid}/runs", headers=h).json()["items"]
    listed = next(r for r in runs if r["name"] == "wizard-demo")
    launched = client.get(f"/api/projects/{pid}/runs/{listed['id']}", headers=h).json()
    assert launched["status"] == "succeeded"
    assert launched["recipe"]["stages"] == ["rollout", "filter", "snapshot", "train", "evaluate"]
    assert launched["recipe"]["train"]["student"] == str(base)
    sets = client.get(f"/api/projects/{pid}/prompt-sets", headers=h).json()
    assert [s["name"] for s in sets] == ["wizard-prompts"]  # the file with a bad row stored nothing
    for name in ("prompt-sets-bad-row", "prompt-set-stats", "wizard-launch", "wizard-run"):
        for theme in ("light", "dark"):
            shot = artifacts / f"{name}-{theme}.png"
            assert shot.is_file() and shot.stat().st_size > 1000, shot
