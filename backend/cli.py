"""The `distillery` command: serve, worker, migrate, users, demo."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(help="Distillery: teacher-to-student distillation platform.", no_args_is_help=True)
users_app = typer.Typer(help="Manage accounts.", no_args_is_help=True)
app.add_typer(users_app, name="users")
console = Console(stderr=True)


@app.command()
def migrate() -> None:
    """Upgrade the database to the newest schema."""
    from backend.core.migrate import upgrade_head

    upgrade_head()
    console.print("[green]database is at head[/green]")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    no_migrate: Annotated[bool, typer.Option("--no-migrate", help="Skip alembic upgrade head.")] = False,
) -> None:
    """Run the API and the dashboard under uvicorn (migrating first)."""
    import uvicorn

    if not no_migrate:
        migrate()
    uvicorn.run("backend.main:create_app", factory=True, host=host, port=port, log_level="info")


@app.command()
def worker(
    queues: Annotated[str, typer.Option(help="Comma-separated queues: cpu, gpu.")] = "cpu,gpu",
    concurrency: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    max_tasks_per_child: Annotated[int, typer.Option(help="Recycle a process after N tasks (GPU: 1).")] = 0,
    loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "INFO",
) -> None:
    """Start a Celery worker on the given queues."""
    from workers.celery_app import celery_app

    argv = [
        "worker",
        "-Q",
        queues,
        "--concurrency",
        str(concurrency),
        "--loglevel",
        loglevel,
        "--without-gossip",
        "--without-mingle",
    ]
    if max_tasks_per_child:
        argv += ["--max-tasks-per-child", str(max_tasks_per_child)]
    celery_app.worker_main(argv)


@users_app.command("create")
def users_create(
    email: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    name: str = "",
    admin: Annotated[bool, typer.Option("--admin", help="Make the user an administrator.")] = False,
) -> None:
    """Create an account."""
    from backend.core.db import session_scope
    from backend.users.service import create_user

    with session_scope() as s:
        user = create_user(s, email=email, password=password, name=name, is_admin=admin)
        console.print(f"created user {user.id} <{user.email}>")


@app.command()
def openapi() -> None:
    """Print the OpenAPI schema (the dashboard's client is generated from it)."""
    from backend.main import create_app

    sys.stdout.write(json.dumps(create_app().openapi(), indent=1) + "\n")


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="Port for the API and dashboard.")] = 8000,
    keep_serving: Annotated[bool, typer.Option("--keep-serving", help="Serve until Ctrl-C.")] = False,
) -> None:
    """Run the platform on its embedded default and push the example prompt set through a run."""
    from backend.demo import run_demo

    raise typer.Exit(run_demo(port=port, keep_serving=keep_serving, console=console))


@app.command()
def up(port: Annotated[int, typer.Option(help="Port for the API and dashboard.")] = 8000) -> None:
    """Like demo, then keep serving until Ctrl-C."""
    from backend.demo import run_demo

    raise typer.Exit(run_demo(port=port, keep_serving=True, console=console))


def spawn(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start a child in its own process group so it can be stopped with everything it forked."""
    return subprocess.Popen(args, env={**os.environ, **(env or {})}, start_new_session=True)


def stop(proc: subprocess.Popen, timeout: float = 15) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)  # the parent stops its own children (Celery's pool) cleanly
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


if __name__ == "__main__":
    app()
