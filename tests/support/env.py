"""The test session's settings, fixed before any backend import (tests/conftest.py imports this first),
and the services it sets up only when a selected test needs them: a fresh PostgreSQL database migrated
to head, and a Redis database of its own as the broker."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PG_ADMIN = os.environ.get("DISTILLERY_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
_CLAIM = "distillery:test-session"


def _claim_redis_db(base: str = "redis://127.0.0.1:6379") -> str:
    """A Redis database of its own for this test session (14 down to 1), so that two sessions on one
    host never consume each other's tasks nor flush each other's broker. A claim is a key holding the
    session's pid; a dead pid's claim is taken over. DISTILLERY_TEST_REDIS skips the claim."""
    import redis

    from backend.core.processes import pid_alive

    for db in range(14, 0, -1):  # 15: what older checkouts always took
        r = redis.Redis.from_url(f"{base}/{db}", socket_connect_timeout=1)
        try:
            if r.set(_CLAIM, os.getpid(), nx=True, ex=6 * 3600):
                return f"{base}/{db}"
            holder = int(r.get(_CLAIM) or 0)
        except redis.RedisError:
            return f"{base}/15"  # no Redis here: only the tests that need it fail, and they say why
        if holder and not pid_alive(holder):
            r.set(_CLAIM, os.getpid(), ex=6 * 3600)
            return f"{base}/{db}"
    raise RuntimeError("every Redis database 1-14 is claimed by a running test session")


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
    # no hub at run time: a hub id is read from the local cache or fails at once, never after retries
    "HF_HUB_OFFLINE": "1",
    # tests/fakes/fake_hub.py serves the Hub's LFS protocol, not Xet's storage: pushes take LFS
    "HF_HUB_DISABLE_XET": "1",
    "DISTILLERY_BATCH_POLL_S": "0.1",  # a fake provider batch ends after a few polls
}
os.environ.update(TEST_ENV)

_seq = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{os.getpid()}-{next(_seq)}"


def admin_exec(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql)


_services_up = False


def start_services() -> None:
    """Create and migrate the session's database and empty its Redis database. Called once, after
    collection, only when a selected test is not marked `pure` (tests/conftest.py)."""
    global _services_up
    admin_exec(f'DROP DATABASE IF EXISTS "{TEST_DB}"')
    admin_exec(f'CREATE DATABASE "{TEST_DB}"')
    _services_up = True
    import redis

    r = redis.Redis.from_url(REDIS_URL)
    r.flushdb()
    r.set(_CLAIM, os.getpid(), ex=6 * 3600)  # the flush took the claim with it
    from backend.core.migrate import upgrade_head

    upgrade_head()


def stop_services() -> None:
    """Drop what start_services made (if it ran), the data folder and the Redis claim."""
    if _services_up:
        from backend.core.db import get_engine

        get_engine().dispose()
        admin_exec(f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)')
    shutil.rmtree(DATA_DIR, ignore_errors=True)
    if _services_up or "DISTILLERY_TEST_REDIS" not in os.environ:
        import redis

        try:
            redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).delete(_CLAIM)
        except redis.RedisError:
            pass


def run_cli(*args: str, timeout: float = 300, stdin: str | None = None) -> subprocess.CompletedProcess:
    """`distillery ARGS...` in a process of its own, on the test database, output wide enough that
    rich does not wrap what a test looks for; stdin: what it reads (a secret is never an argument)."""
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", *args],
        input=stdin,
        cwd=ROOT,
        env={**os.environ, **TEST_ENV, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
