"""The offline demo: migrate, start a worker and the API on the embedded default, then drive
the REST API exactly as a user would: log in, make a project, import prompts, launch a run."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from backend.core.processes import sigterm_as_interrupt, spawn, stop, wait_healthy

ROOT = Path(__file__).resolve().parents[1]
DEMO_EMAIL = "admin@example.com"
DEMO_PASSWORD = os.environ.get("DISTILLERY_DEMO_PASSWORD", "distillery-demo")
PROMPTS = ROOT / "examples" / "prompts" / "word_problems.jsonl"


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


def _check(resp: httpx.Response) -> dict:
    if resp.status_code >= 400:
        raise RuntimeError(
            f"{resp.request.method} {resp.request.url.path} -> {resp.status_code}: {resp.text}"
        )
    return resp.json()


def _drive(base: str, console: Console) -> bool:
    with httpx.Client(base_url=base, timeout=60) as c:
        token = _check(c.post("/api/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD}))
        c.headers["Authorization"] = f"Bearer {token['access_token']}"
        project = next((p for p in _check(c.get("/api/projects")) if p["name"] == "demo"), None)
        project = project or _check(
            c.post("/api/projects", json={"name": "demo", "description": "make demo"})
        )
        pid = project["id"]
        with PROMPTS.open("rb") as fh:
            job = _check(
                c.post(
                    f"/api/projects/{pid}/prompt-sets",
                    data={"name": "word-problems"},
                    files={"file": (PROMPTS.name, fh, "application/jsonl")},
                )
            )
        job = _wait(c, f"/api/projects/{pid}/jobs/{job['id']}", "import job")
        if job["status"] != "succeeded":
            raise RuntimeError(f"import failed: {job['error']}")
        pset = job["result"]["prompt_set"]
        console.print(
            f"imported {pset['prompt_count']} prompts as prompt set {pset['id']} v{pset['version']}"
        )
        teacher = _local_teacher(c, pid, console)
        run = _check(
            c.post(
                f"/api/projects/{pid}/runs",
                json={
                    "name": f"demo-{int(time.time())}",
                    "recipe": {
                        "prompt_set_id": pset["id"],
                        "teacher_id": teacher,
                        "stages": ["profile", "rollout"],
                        # The tiny model writes nonsense fast: enough to see every part work.
                        "rollout": {"n": 2, "max_tokens": 24, "temperature": 1.0, "split": "all"},
                    },
                },
            )
        )
        console.print(f"run {run['id']} queued; waiting for the worker")
        run = _wait(c, f"/api/projects/{pid}/runs/{run['id']}", f"run {run['id']}")
    _print_run(run, console)
    return run["status"] == "succeeded"


def _local_teacher(c: httpx.Client, pid: int, console: Console) -> int:
    """The transformers_local teacher over the project's tiny model, built here in seconds (no hub)."""
    sys.path.insert(0, str(ROOT / "examples"))
    from tiny_model import build

    from backend.core.config import get_settings

    model = build(get_settings().data_dir / "models" / "tiny-chat")
    found = next(
        (t for t in _check(c.get(f"/api/projects/{pid}/teachers")) if t["name"] == "tiny-local"), None
    )
    if found:
        return found["id"]
    console.print(f"teacher: transformers_local over {model}")
    body = {
        "name": "tiny-local",
        "backend": "transformers_local",
        "model": str(model),
        "settings": {"batch_size": 32},
    }
    return _check(c.post(f"/api/projects/{pid}/teachers", json=body))["id"]


def _wait(c: httpx.Client, url: str, what: str, timeout: float = 180) -> dict:
    """Poll a run or job until it finishes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        obj = _check(c.get(url))
        if obj["status"] in ("succeeded", "failed", "cancelled"):
            return obj
        time.sleep(0.3)
    raise RuntimeError(f"{what} did not finish in {timeout:.0f} s (status {obj['status']})")


def _print_run(run: dict, console: Console) -> None:
    console.print(f"run {run['id']} {run['name']}: [bold]{run['status']}[/bold]")
    for st in run["stages"]:
        if st["error"]:
            console.print(f"  stage {st['kind']} failed: {st['error']}")
    roll = run["summary"].get("rollout")
    if roll:
        r = roll
        console.print(
            f"rollout: {r['succeeded']} generations ({r['truncated']} truncated, {r['failed']} failed, "
            f"{r['from_cache']} from cache), {r['completion_tokens']} tokens at {r['tokens_per_s']} tok/s, "
            f"{r['gpu_seconds']} device-seconds, ${r['cost_usd']:.4f}"
        )
    prof = run["summary"].get("profile")
    if not prof:
        return
    table = Table(title=f"profile: {prof['prompt_count']} prompts")
    table.add_column("length")
    for key in ["min", *prof["chars"]["percentiles"], "max", "mean"]:
        table.add_column(key, justify="right")
    for unit in ("chars", "words"):
        d = prof[unit]
        table.add_row(
            unit,
            str(d["min"]),
            *[f"{v:g}" for v in d["percentiles"].values()],
            str(d["max"]),
            f"{d['mean']:g}",
        )
    Console().print(table)


def run_demo(*, port: int, keep_serving: bool, console: Console) -> int:
    """Returns the exit code: 0 when the run succeeded. SIGTERM stops every child, as Ctrl-C does."""
    with sigterm_as_interrupt():
        return _run_demo(port=port, keep_serving=keep_serving, console=console)


def _run_demo(*, port: int, keep_serving: bool, console: Console) -> int:
    from backend.core.config import get_settings
    from backend.core.migrate import upgrade_head

    settings = get_settings()
    console.print(f"database: {settings.sqlalchemy_url}  broker: {settings.celery_broker_url}")
    upgrade_head()
    _ensure_admin()
    base = f"http://127.0.0.1:{port}"
    py = sys.executable
    worker = spawn([py, "-m", "backend.cli", "worker", "--queues", "cpu,gpu", "--loglevel", "WARNING"])
    api = spawn(api_argv(port))
    try:
        wait_healthy(f"{base}/api/health", api, name="the API server")
        console.print(f"dashboard and API on {base} (docs at {base}/docs); log in as {DEMO_EMAIL}")
        ok = _drive(base, console)
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
