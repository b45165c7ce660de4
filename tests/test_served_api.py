"""A real `distillery serve` (uvicorn in front of the app, as deployed): what only the server adds, its
access log and the client address its proxy-headers middleware derives."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from backend.core.net import free_port
from backend.core.processes import wait_healthy
from tests.support.env import ROOT, TEST_ENV


@contextmanager
def served(log: Path, **env: str) -> Iterator[str]:
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "backend.cli", "serve", "--no-migrate", "--port", str(port)],
            cwd=ROOT,
            env={**os.environ, **TEST_ENV, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_healthy(f"{base}/api/health", proc, timeout=60, name="api", log_path=log)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _status(url: str, *, body: dict | None = None, headers: dict | None = None) -> int:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        url, data=data, headers={"content-type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_secret_looking_query_string_logs_one_redacted_access_line(tmp_path):
    """The redaction filter used to drop the record's args, which uvicorn's access formatter unpacks:
    a traceback instead of the line."""
    log = tmp_path / "serve.log"
    with served(log) as base:
        url = f"{base}/api/projects?api_key=sk-live-abcdef0123456789&token=hunter2-planted"
        assert _status(url) == 401  # unauthenticated
        time.sleep(0.5)  # the access line is written after the response
    text = log.read_text()
    lines = [line for line in text.splitlines() if "GET /api/projects" in line]
    assert len(lines) == 1, text
    assert "401" in lines[0] and "/api/projects?api_key=[REDACTED]" in lines[0], text
    assert "sk-live" not in text and "hunter2" not in text, text
    assert "Traceback" not in text and "--- Logging error ---" not in text, text


@pytest.mark.parametrize(("trusted", "limited"), [("10.9.9.9", True), ("127.0.0.1", False)])
def test_only_a_trusted_proxy_can_name_the_client_for_the_login_limit(
    tmp_path, fresh_login_throttle, trusted, limited
):
    """A caller that is not DISTILLERY_FORWARDED_ALLOW_IPS cannot dodge the per-address limit with a new
    X-Forwarded-For each try; a trusted proxy's header does name the client."""
    env = {
        "DISTILLERY_FORWARDED_ALLOW_IPS": trusted,
        "DISTILLERY_LOGIN_FREE_FAILURES_PER_ADDRESS": "3",
        "DISTILLERY_LOGIN_FREE_FAILURES": "100",
    }
    with served(tmp_path / "serve.log", **env) as base:
        codes = [
            _status(
                f"{base}/api/auth/login",
                body={"email": f"nobody{i}@example.com", "password": "wrong password"},
                headers={"X-Forwarded-For": f"203.0.113.{i}"},
            )
            for i in range(6)
        ]
    assert codes[:3] == [401, 401, 401], codes
    assert (429 in codes) is limited, codes
