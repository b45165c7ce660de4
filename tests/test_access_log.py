"""A real `distillery serve`: a request whose query string looks like a secret still gets its one
access-log line, redacted, and the redaction never raises (uvicorn's access formatter reads the
record's args, which the filter must keep)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

from backend.core.net import free_port
from backend.core.processes import wait_healthy
from tests.conftest import ROOT, TEST_ENV


def test_a_secret_looking_query_string_logs_one_redacted_access_line(tmp_path):
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "backend.cli", "serve", "--no-migrate", "--port", str(port)],
            cwd=ROOT,
            env={**os.environ, **TEST_ENV},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_healthy(f"http://127.0.0.1:{port}/api/health", proc, timeout=60, name="api", log_path=log)
        url = f"http://127.0.0.1:{port}/api/projects?api_key=sk-live-abcdef0123456789&token=hunter2-planted"
        try:
            urllib.request.urlopen(url, timeout=10)
        except urllib.error.HTTPError as exc:
            assert exc.code == 401  # unauthenticated
        time.sleep(0.5)  # the access line is written after the response
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    text = log.read_text()
    lines = [line for line in text.splitlines() if "GET /api/projects" in line]
    assert len(lines) == 1, text
    assert "401" in lines[0] and "/api/projects?api_key=[REDACTED]" in lines[0], text
    assert "sk-live" not in text and "hunter2" not in text, text
    assert "Traceback" not in text and "--- Logging error ---" not in text, text
