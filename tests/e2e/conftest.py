"""The dashboard tests' server: the built dashboard and the API under a real uvicorn process, on the test
PostgreSQL database (one per test module)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from backend.core.net import free_port
from backend.core.processes import wait_healthy
from backend.demo import api_argv
from tests.support.env import TEST_ENV

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server():
    if not (ROOT / "frontend" / "dist" / "index.html").is_file():
        pytest.fail("frontend/dist is not built: run `make frontend` (make test does it)")
    port = free_port()
    proc = subprocess.Popen(api_argv(port), cwd=ROOT, env={**os.environ, **TEST_ENV})
    base = f"http://127.0.0.1:{port}"
    wait_healthy(f"{base}/api/health", proc)
    yield base
    proc.terminate()
    proc.wait(15)
