"""Test set-up: a fresh PostgreSQL database migrated to head, Redis db 15 as the broker, and
helpers that make users and projects. Settings are fixed here before any backend import."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("DISTILLERY_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _claim_redis_db(base: str = "redis://127.0.0.1:6379") -> str:
    """A Redis database of its own for this test session (14 down to 1), so that two sessions on one
    host never consume each other's tasks nor flush each other's broker. A claim is a key holding the
    session's pid; a dead pid's claim is taken over."""
    import redis

    from backend.core.processes import pid_alive

    for db in range(14, 0, -1):  # 15: what older checkouts always took
        r = redis.Redis.from_url(f"{base}/{db}")
        try:
            if r.set(_CLAIM, os.getpid(), nx=True, ex=6 * 3600):
                return f"{base}/{db}"
            holder = int(r.get(_CLAIM) or 0)
        except redis.RedisError:
            return f"{base}/15"  # no Redis here: the tests that need it start it or skip
        if holder and not pid_alive(holder):
            r.set(_CLAIM, os.getpid(), ex=6 * 3600)
            return f"{base}/{db}"
    raise RuntimeError("every Redis database 1-14 is claimed by a running test session")


_CLAIM = "distillery:test-session"
REDIS_URL = os.environ.get("DISTILLERY_TEST_REDIS") or _claim_redis_db()
TEST_DB = f"distillery_test_{os.getpid()}"
DATA_DIR = Path(tempfile.mkdtemp(prefix="distillery-test-"))
PG_URL = PG_ADMIN.rsplit("/", 1)[0] + f"/{TEST_DB}"

TEST_ENV = {
    "DISTILLERY_ENVIRONMENT": "test",
    "DISTILLERY_SECRET_KEY": "test-secret-key-not-for-production",
    "DISTILLERY_DATABASE_URL": PG_URL,
    "DISTILLERY_BROKER_URL": REDIS_URL,
    "DISTILLERY_DATA_DIR": str(DATA_DIR),
    "DISTILLERY_PROGRESS_INTERVAL_S": "0",
    "DISTILLERY_FRONTEND_DIST": str(ROOT / "frontend" / "dist"),
    # API tests leave runs queued with no worker on purpose; the shared worker's janitor must not send
    # them again later in the suite (tests/workers/test_queued_resend.py sets its own bound)
    "DISTILLERY_QUEUED_RESEND_AFTER_S": "86400",
}
os.environ.update(TEST_ENV)


def _admin_exec(sql: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql)


def pytest_configure(config):
    _admin_exec(f'DROP DATABASE IF EXISTS "{TEST_DB}"')
    _admin_exec(f'CREATE DATABASE "{TEST_DB}"')
    import redis

    r = redis.Redis.from_url(REDIS_URL)
    r.flushdb()
    r.set(_CLAIM, os.getpid(), ex=6 * 3600)  # the flush took the claim with it
    from backend.core.migrate import upgrade_head

    upgrade_head()


def pytest_unconfigure(config):
    from backend.core.db import get_engine

    get_engine().dispose()
    _admin_exec(f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)')
    shutil.rmtree(DATA_DIR, ignore_errors=True)
    import redis

    try:
        redis.Redis.from_url(REDIS_URL).delete(_CLAIM)
    except redis.RedisError:
        pass


_seq = itertools.count(1)


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """`distillery ARGS...` in a process of its own, on the test database, output wide enough that
    rich does not wrap what a test looks for."""
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", *args],
        cwd=ROOT,
        env={**os.environ, **TEST_ENV, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def unique(prefix: str) -> str:
    return f"{prefix}-{os.getpid()}-{next(_seq)}"


@pytest.fixture(scope="session")
def app():
    from backend.main import create_app

    return create_app()


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c


class Accounts:
    """Makes users and bearer headers quickly (password hashing is the slow part, so users are reused)."""

    def __init__(self, client):
        self.client = client

    def user(self, *, admin: bool = False, password: str = "correct horse battery") -> dict:
        from backend.core.db import session_scope
        from backend.users.service import create_user

        email = unique("user") + "@example.com"
        with session_scope() as s:
            u = create_user(s, email=email, password=password, name="Test", is_admin=admin)
            uid = u.id
        token = self.token_for(uid)
        return {"id": uid, "email": email, "password": password, "headers": self.bearer(token)}

    @staticmethod
    def token_for(user_id: int) -> str:
        from backend.core.db import session_scope
        from backend.users.models import User
        from backend.users.service import issue_token

        with session_scope() as s:
            _, token = issue_token(s, user=s.get(User, user_id), kind="session", name="test", ttl=None)
        return token

    @staticmethod
    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def project(self, owner: dict, **members: dict) -> int:
        """A project owned by `owner`, with each other user added at the role named by its key."""
        from backend.core.db import session_scope
        from backend.projects.models import Membership, Role
        from backend.projects.service import create_project
        from backend.users.models import User

        with session_scope() as s:
            p = create_project(s, owner=s.get(User, owner["id"]), name=unique("project"))
            for role, user in members.items():
                s.add(Membership(project_id=p.id, user_id=user["id"], role=Role(role)))
            return p.id


@pytest.fixture
def accounts(client) -> Accounts:
    return Accounts(client)


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    import json

    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def import_prompts(client, headers, project_id: int, path: Path, name: str = "prompts", **form):
    """POST the file to the import route; returns the raw response (202 with a job, or an error)."""
    with path.open("rb") as fh:
        return client.post(
            f"/api/projects/{project_id}/prompt-sets",
            headers=headers,
            data={"name": name, **{k: str(v).lower() if isinstance(v, bool) else v for k, v in form.items()}},
            files={"file": (path.name, fh, "application/octet-stream")},
        )


def wait_finished(client, headers, url: str, timeout: float = 120) -> dict:
    """Poll a job or run until it succeeded, failed or was cancelled."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        obj = client.get(url, headers=headers).json()
        if obj["status"] in ("succeeded", "failed", "cancelled"):
            return obj
        time.sleep(0.1)
    raise AssertionError(f"{url} still {obj['status']} after {timeout}s")


def wait_job(client, headers, project_id: int, job_id: int) -> dict:
    return wait_finished(client, headers, f"/api/projects/{project_id}/jobs/{job_id}")


@pytest.fixture
def importer(client, celery_worker):
    """Import through the API and the real worker; returns the finished job."""

    def run(headers, project_id: int, path: Path, name: str = "prompts", **form) -> dict:
        r = import_prompts(client, headers, project_id, path, name, **form)
        assert r.status_code == 202, r.text
        assert r.json()["kind"] == "prompt_import" and r.json()["status"] == "queued"
        return wait_job(client, headers, project_id, r.json()["id"])

    return run


def seed_prompt_set(project_id: int, path: Path, name: str = "prompts") -> int:
    """Import in-process through the service (no worker needed); returns the prompt set id."""
    from backend.core.db import session_scope
    from backend.projects.models import Project
    from backend.prompts.service import import_prompt_set

    with session_scope() as s:
        pset, _ = import_prompt_set(
            s, project=s.get(Project, project_id), user=None, name=name, path=path, filename=path.name
        )
        return pset.id


class WorkerProcess:
    """A real Celery worker process on Redis, consuming both queues; tests may SIGKILL and restart it."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.log_path = DATA_DIR / "worker.log"

    def start(self, **env: str) -> WorkerProcess:
        """Start it; keyword arguments are extra DISTILLERY_* settings for this worker only."""
        from backend.core.processes import spawn, wait_until
        from workers.celery_app import celery_app

        self.proc = spawn(
            [sys.executable, "-m", "backend.cli", "worker", "--queues", "cpu,gpu", "--concurrency", "1"],
            cwd=ROOT,
            env={**TEST_ENV, **env},
            log_path=self.log_path,
            append=True,
        )
        wait_until(
            lambda: bool(celery_app.control.ping(timeout=0.5)),
            self.proc,
            ready_as="answering a Celery ping",
            timeout=60,
            name="the test worker",
            log_path=self.log_path,
            interval=0,  # the ping waits half a second itself
        )
        return self

    def kill(self) -> None:
        """SIGKILL the worker and its pool children at once: no shutdown handlers run."""
        from backend.core.processes import kill

        assert self.proc is not None
        kill(self.proc)

    def stop(self) -> None:
        from backend.core.processes import stop

        if self.proc is not None:
            stop(self.proc, grace_s=20, name="the test worker", term="leader")


@pytest.fixture(scope="session")
def celery_worker() -> Iterator[WorkerProcess]:
    """One worker for the whole session (restarted by tests that kill it)."""
    worker = WorkerProcess().start()
    yield worker
    worker.stop()


def wait_run(client, headers, project_id: int, run_id: int, timeout: float = 120) -> dict:
    return wait_finished(client, headers, f"/api/projects/{project_id}/runs/{run_id}", timeout=timeout)


@pytest.fixture(scope="session")
def tiny_server():
    """`transformers serve` over a tiny Llama built from config; yields (base_url, model id)."""
    sys.path.insert(0, str(ROOT / "examples"))
    from tiny_model import build

    from backend.core.net import free_port
    from backend.core.processes import spawn, stop, wait_healthy

    model_dir = build(DATA_DIR / "models" / "tiny-chat")
    port = free_port()
    log_path = DATA_DIR / "transformers-serve.log"
    exe = Path(sys.executable).parent / "transformers"
    proc = spawn(
        [str(exe), "serve", str(model_dir), "--host", "127.0.0.1", "--port", str(port)],
        env={"HF_HUB_OFFLINE": "1"},
        log_path=log_path,
    )
    base = f"http://127.0.0.1:{port}"
    wait_healthy(f"{base}/health", proc, timeout=120, name="transformers serve", log_path=log_path)
    yield f"{base}/v1", str(model_dir)
    stop(proc, grace_s=20, name="transformers serve")


@pytest.fixture
def fresh_login_throttle() -> Iterator[None]:
    """Every test client calls from one address ("testclient"): forget its failed logins around a test
    that makes many, so they do not slow later tests' logins."""
    from sqlalchemy import delete

    from backend.core.db import session_scope
    from backend.users.models import LoginThrottle

    def clear() -> None:
        with session_scope() as s:
            s.execute(delete(LoginThrottle))

    clear()
    yield
    clear()
