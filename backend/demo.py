"""The offline demo: migrate, start a worker and the API on the embedded default, then drive the REST
API exactly as a user would (backend/demo_flow.py): a teacher's traces verified, a student trained
on them and evaluated against its base and the teacher, with two ablations (backend/demo_report.py)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import httpx
from rich.console import Console

from backend.core.processes import sigterm_as_interrupt, spawn, stop, wait_healthy

ROOT = Path(__file__).resolve().parents[1]
DEMO_EMAIL = "admin@example.com"
DEMO_PASSWORD = os.environ.get("DISTILLERY_DEMO_PASSWORD", "distillery-demo")
WORKER_PROCESSES = int(os.environ.get("DISTILLERY_DEMO_WORKERS", "3"))


def _ensure_admin() -> None:
    from backend.core.db import session_scope
    from backend.users.service import create_user, get_by_email

    with session_scope() as s:
        if get_by_email(s, email=DEMO_EMAIL) is None:
            create_user(s, email=DEMO_EMAIL, password=DEMO_PASSWORD, name="Demo admin", is_admin=True)


def api_argv(port: int) -> list[str]:
    """The command that serves the API and dashboard on 127.0.0.1:port in a child process."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "backend.main:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]


def _drive(base: str, console: Console, *, seeds: int, size: str) -> bool:
    from backend.core.config import get_settings
    from backend.demo_flow import SIZES, Api, run_arms
    from backend.demo_report import build_report, print_report

    started = time.monotonic()
    data_dir = get_settings().data_dir
    with httpx.Client(base_url=base, timeout=60) as c:
        api = Api(c)
        token = api("POST", "/api/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
        c.headers["Authorization"] = f"Bearer {token['access_token']}"
        project = next((p for p in api("GET", "/api/projects") if p["name"] == "demo"), None)
        project = project or api("POST", "/api/projects", json={"name": "demo", "description": "make demo"})
        runs = run_arms(api, project["id"], SIZES[size], list(range(seeds)), data_dir, console)
    report = build_report(runs, time.monotonic() - started)
    print_report(report, data_dir / "demo" / "report.json", console)
    return True


def run_demo(*, port: int, keep_serving: bool, console: Console, seeds: int = 1, size: str = "full") -> int:
    """Returns the exit code: 0 when every run succeeded. SIGTERM stops every child, as Ctrl-C does."""
    with sigterm_as_interrupt():
        return _run_demo(port=port, keep_serving=keep_serving, console=console, seeds=seeds, size=size)


def _run_demo(*, port: int, keep_serving: bool, console: Console, seeds: int, size: str) -> int:
    from backend.core.config import get_settings
    from backend.core.migrate import upgrade_head

    settings = get_settings()
    console.print(f"database: {settings.sqlalchemy_url}  broker: {settings.celery_broker_url}")
    upgrade_head()
    _ensure_admin()
    base = f"http://127.0.0.1:{port}"
    py = sys.executable
    # Three processes of one thread each: tiny models do not keep two threads busy (most of a step is
    # Python and small kernels), so stages side by side use both cores where one would not; the third
    # lets the short answers-only training run beside the two long ones instead of after them.
    worker = spawn(
        [py, "-m", "backend.cli", "worker", "--queues", "cpu,gpu", "--concurrency", str(WORKER_PROCESSES)]
        + ["--loglevel", "WARNING"],
        env={"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
    )
    api = spawn(api_argv(port))
    try:
        wait_healthy(f"{base}/api/health", api, name="the API server")
        console.print(f"dashboard and API on {base} (docs at {base}/docs); log in as {DEMO_EMAIL}")
        ok = _drive(base, console, seeds=seeds, size=size)
        if keep_serving:
            console.print("serving until Ctrl-C")
            while api.poll() is None and worker.poll() is None:
                time.sleep(1)
        return 0 if ok else 1
    except KeyboardInterrupt:
        return 0
    except RuntimeError as exc:
        console.print(f"[red]demo failed:[/red] {exc}")
        return 1
    finally:
        stop(api, name="the API server")
        stop(worker, name="the worker", term="leader")  # Celery's main process stops its pool cleanly
