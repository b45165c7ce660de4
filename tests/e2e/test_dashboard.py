"""The built dashboard in headless Chromium: log in, open a project, watch a run reach succeeded,
then launch a rollout from the form and see its generations.

Runs against a real uvicorn process on the test PostgreSQL database and the real Celery worker.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from backend.core.net import free_port
from backend.core.processes import wait_healthy
from backend.demo import api_argv
from tests.conftest import DATA_DIR, TEST_ENV

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "frontend"
EXAMPLE = ROOT / "examples" / "prompts" / "word_problems.jsonl"

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server():
    if not (FRONTEND / "dist" / "index.html").is_file():
        pytest.fail("frontend/dist is not built: run `make frontend` (make test does it)")
    port = free_port()
    proc = subprocess.Popen(api_argv(port), cwd=ROOT, env={**os.environ, **TEST_ENV})
    base = f"http://127.0.0.1:{port}"
    wait_healthy(f"{base}/api/health", proc)
    yield base
    proc.terminate()
    proc.wait(15)


def test_dashboard_serves_index_for_client_routes(server):
    r = httpx.get(f"{server}/projects/1")
    assert r.status_code == 200 and '<div id="root">' in r.text
    api_404 = httpx.get(f"{server}/api/nope")
    assert api_404.status_code == 404 and api_404.json()["error"]["code"] == "not_found"


def test_login_watch_a_run_and_launch_a_rollout_in_chromium(server, client, accounts, importer, tmp_path):
    assert shutil.which("node"), "node is required for the dashboard test"
    user = accounts.user(password="dashboard-pass-1")
    pid = accounts.project(user)
    h = user["headers"]
    project_name = client.get(f"/api/projects/{pid}", headers=h).json()["name"]
    pset = importer(h, pid, EXAMPLE)["result"]["prompt_set"]
    run = client.post(
        f"/api/projects/{pid}/runs",
        headers=h,
        json={"name": "watched-run", "recipe": {"prompt_set_id": pset["id"]}},
    )
    assert run.status_code == 202
    import sys

    sys.path.insert(0, str(ROOT / "examples"))
    from tiny_model import build

    model = build(DATA_DIR / "models" / "tiny-chat")
    teacher = {"name": "tiny-local", "backend": "transformers_local", "model": str(model)}
    assert client.post(f"/api/projects/{pid}/teachers", headers=h, json=teacher).status_code == 201
    shot = tmp_path / "dashboard.png"
    proc = subprocess.run(
        ["node", "e2e/dashboard.mjs"],
        cwd=FRONTEND,
        capture_output=True,
        text=True,
        timeout=180,
        env={
            **os.environ,
            "BASE_URL": server,
            "E2E_EMAIL": user["email"],
            "E2E_PASSWORD": "dashboard-pass-1",
            "E2E_PROJECT": project_name,
            "E2E_RUN": "watched-run",
            "E2E_SCREENSHOT": str(shot),
            "E2E_LAUNCH_TEACHER": "tiny-local",
        },
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert shot.is_file() and shot.stat().st_size > 1000
    assert "the launched rollout succeeded" in proc.stdout
    runs = client.get(f"/api/projects/{pid}/runs", headers=h).json()["items"]
    launched = next(r for r in runs if r["name"] != "watched-run")
    assert launched["status"] == "succeeded" and launched["recipe"]["rollout"]["n"] == 1
    assert launched["recipe"]["rollout"]["max_tokens"] == 8


def test_a_write_is_committed_before_its_response_is_sent(server, accounts):
    """Log in and use the token at once, many times: the token row must exist when the answer arrives."""
    from typing import get_args

    from backend.api.deps import SessionDep

    assert get_args(SessionDep)[1].scope == "function"
    user = accounts.user(password="race-pass-123")
    with httpx.Client(base_url=server, timeout=10) as c:
        for _ in range(30):
            token = c.post("/api/auth/login", json={"email": user["email"], "password": "race-pass-123"})
            me = c.get("/api/users/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"})
            assert me.status_code == 200, me.text
