"""The test worker: a real Celery worker process on the session's broker and database."""

from __future__ import annotations

import socket
import subprocess
import sys

from tests.support.env import DATA_DIR, ROOT, TEST_ENV


class WorkerProcess:
    """A real Celery worker process on Redis, consuming both queues; tests may SIGKILL and restart it.
    `name` (default: the session's worker) gives another one its own Celery node name and log, so
    several can run at once (tests/workers/test_rollout_replicas.py)."""

    def __init__(self, name: str | None = None) -> None:
        self.proc: subprocess.Popen | None = None
        self.name = name
        self.log_path = DATA_DIR / f"{name or 'worker'}.log"

    def start(self, **env: str) -> WorkerProcess:
        """Start it; keyword arguments are extra DISTILLERY_* settings for this worker only."""
        from backend.core.processes import spawn, wait_until
        from workers.celery_app import celery_app

        argv = [sys.executable, "-m", "backend.cli", "worker", "--queues", "cpu,gpu", "--concurrency", "1"]
        node = f"{self.name}@%h" if self.name else None
        if node:
            argv += ["--hostname", node]
        self.proc = spawn(
            argv,
            cwd=ROOT,
            env={**TEST_ENV, **env},
            log_path=self.log_path,
            append=True,
        )
        # a named worker must answer itself: another one already running answers any ping
        to = {"destination": [node.replace("%h", socket.gethostname())]} if node else {}
        wait_until(
            lambda: bool(celery_app.control.ping(timeout=0.5, **to)),
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
