"""The offline demo: migrate, start a worker and the API on the embedded default, then drive the REST
API exactly as a user would (backend/demo_flow.py): a teacher's traces verified, a student trained
on them and evaluated against its base and the teacher, with two ablations (backend/demo_report.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from rich.console import Console

from backend.core.processes import sigterm_as_interrupt, spawn, stop, wait_healthy

ROOT = Path(__file__).resolve().parents[1]
DEMO_EMAIL = "admin@example.com"
DEMO_PASSWORD = os.environ.get("DISTILLERY_DEMO_PASSWORD", "distillery-demo")
# One worker per queue, as docker-compose.yml's worker-cpu and worker-gpu: with one worker on both
# queues, two trainings held its processes and a judge or a speed probe waited for their whole length.
# gpu: three processes of one thread each: tiny models do not keep two threads busy (most of a step is
# Python and small kernels), so stages side by side use both cores where one would not; the third lets
# the short answers-only training run beside the two long ones instead of after them.
WORKER_POOLS = {
    "cpu": int(os.environ.get("DISTILLERY_DEMO_CPU_WORKERS", "2")),
    "gpu": int(os.environ.get("DISTILLERY_DEMO_WORKERS", "3")),
}


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


def worker_argv(queue: str, processes: int, *, loglevel: str = "WARNING") -> list[str]:
    """The command of one queue's worker; its node name says the queue (two workers of one host would
    otherwise share a name, and Celery's control replies would mix them up)."""
    return [sys.executable, "-m", "backend.cli", "worker", "--queues", queue, "--concurrency", str(processes),
            "--hostname", f"{queue}@%h", "--loglevel", loglevel]  # fmt: skip


def start_workers(
    pools: dict[str, int] | None = None,
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    log_dir: Path | None = None,
    loglevel: str = "WARNING",
) -> dict[str, subprocess.Popen]:
    """A worker per queue (`pools`: queue -> processes, WORKER_POOLS by default), so cheap work (judge,
    filter, imports, probes) never queues behind a training or a local teacher's generation. With
    log_dir, each writes `worker-<queue>.log` there."""
    return {
        queue: spawn(
            worker_argv(queue, processes, loglevel=loglevel),
            env={"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", **(env or {})},
            cwd=cwd,
            log_path=log_dir / f"worker-{queue}.log" if log_dir else None,
            append=True,
        )
        for queue, processes in (pools or WORKER_POOLS).items()
    }


def extra_arms(seeds: int, named: tuple[str, ...]) -> tuple[str, ...]:
    """The extra arms to run: those named, or all of them from three seeds up (a comparison)."""
    from backend.demo_flow import EXTRA_ARMS

    unknown = [a for a in named if a not in EXTRA_ARMS]
    if unknown:
        raise ValueError(f"--arms: unknown arm(s) {', '.join(unknown)}; extra arms: {', '.join(EXTRA_ARMS)}")
    return tuple(EXTRA_ARMS) if seeds >= 3 and not named else named


def _drive(base: str, console: Console, *, seeds: int, size: str, arms: tuple[str, ...] = ()) -> bool:
    from backend.core.config import get_settings
    from backend.demo_flow import SIZES, Api, run_arms
    from backend.demo_report import build_report, print_report, save_experiment

    started = time.monotonic()
    data_dir = get_settings().data_dir
    with httpx.Client(base_url=base, timeout=60) as c:
        api = Api(c)
        token = api("POST", "/api/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
        c.headers["Authorization"] = f"Bearer {token['access_token']}"
        project = next((p for p in api("GET", "/api/projects") if p["name"] == "demo"), None)
        project = project or api("POST", "/api/projects", json={"name": "demo", "description": "make demo"})
        extra = extra_arms(seeds, arms)
        runs = run_arms(api, project["id"], SIZES[size], list(range(seeds)), data_dir, console, extra)
        experiment = save_experiment(api, project["id"], runs)
    report = build_report(runs, time.monotonic() - started)
    report["experiment_id"] = experiment
    print_report(report, data_dir / "demo" / "report.json", console)
    return True


def run_demo(
    *,
    port: int,
    keep_serving: bool,
    console: Console,
    seeds: int = 1,
    size: str = "full",
    arms: tuple[str, ...] = (),
) -> int:
    """Returns the exit code: 0 when every run succeeded. SIGTERM stops every child, as Ctrl-C does."""
    with sigterm_as_interrupt():
        return _run_demo(
            port=port, keep_serving=keep_serving, console=console, seeds=seeds, size=size, arms=arms
        )


def _run_demo(
    *, port: int, keep_serving: bool, console: Console, seeds: int, size: str, arms: tuple[str, ...]
) -> int:
    from backend.core.config import get_settings
    from backend.core.migrate import upgrade_head

    settings = get_settings()
    console.print(f"database: {settings.sqlalchemy_url}  broker: {settings.celery_broker_url}")
    upgrade_head()
    _ensure_admin()
    base = f"http://127.0.0.1:{port}"
    workers = start_workers()
    api = spawn(api_argv(port))
    try:
        wait_healthy(f"{base}/api/health", api, name="the API server")
        console.print(f"dashboard and API on {base} (docs at {base}/docs); log in as {DEMO_EMAIL}")
        ok = _drive(base, console, seeds=seeds, size=size, arms=arms)
        if keep_serving:
            console.print("serving until Ctrl-C")
            while api.poll() is None and all(w.poll() is None for w in workers.values()):
                time.sleep(1)
        return 0 if ok else 1
    except KeyboardInterrupt:
        return 0
    except RuntimeError as exc:
        console.print(f"[red]demo failed:[/red] {exc}")
        return 1
    finally:
        stop(api, name="the API server")
        for queue, proc in workers.items():  # Celery's main process stops its pool cleanly
            stop(proc, name=f"the {queue} worker", term="leader")
