"""`distillery hub`: the project's Hub endpoint and token, and pushing a snapshot or a model (a job a
worker runs), followed to its end. The token is read from standard input or a hidden prompt, never
from the command line (where the shell's history and `ps` would keep it)."""

from __future__ import annotations

import sys
import time
from typing import Literal

import typer
from rich.console import Console

from backend.core.db import session_scope
from backend.core.errors import AppError
from backend.hub import service
from backend.hub.schemas import HubSettingsUpdate, PushRequest
from backend.jobs.models import Job
from backend.projects.service import find_project


def _project(s, ref: str):
    try:
        return find_project(s, ref)
    except AppError as exc:
        raise typer.BadParameter(exc.message, param_hint="PROJECT") from None


def read_token() -> str:
    """The token from standard input when it is not a terminal, else from a hidden prompt."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().strip()
    return typer.prompt("Hub token (write)", hide_input=True).strip()


def set_settings(project: str, *, endpoint: str | None, token: str | None, console: Console) -> int:
    """Set the endpoint and/or the token (an empty one clears it); prints what is stored, never the token."""
    body: dict[str, str] = {}
    if endpoint is not None:
        body["endpoint"] = endpoint
    if token is not None:
        body["token"] = token
    try:
        data = HubSettingsUpdate.model_validate(body)
        with session_scope() as s:
            out = service.update_settings(s, project=_project(s, project), data=data)
    except (AppError, ValueError) as exc:
        console.print(f"[red]{getattr(exc, 'message', exc)}[/red]")
        return 1
    console.print(f"Hub {out.endpoint}: {'a token is set' if out.has_token else 'no token'}")
    return 0


def push(
    project: str,
    kind: Literal["snapshot", "model"],
    object_id: int,
    *,
    repo_id: str,
    private: bool,
    acknowledge_terms: bool,
    wait: bool,
    console: Console,
    poll_s: float = 0.5,
) -> int:
    """Queue the push (the API's checks: the object is the project's, the licence guard, a token), and
    with wait follow the job: exit 0 only on success, printing the repository's URL."""
    try:
        data = PushRequest(repo_id=repo_id, private=private, acknowledge_terms=acknowledge_terms)
        with session_scope() as s:
            proj = _project(s, project)
            out = service.queue_push(s, project=proj, kind=kind, object_id=object_id, data=data, user_id=None)
    except AppError as exc:
        console.print(f"[red]{exc.message}[/red]")
        return 1
    except ValueError as exc:  # a repository id the Hub would refuse
        console.print(f"[red]{exc}[/red]")
        return 2
    console.print(f"push job {out.job_id} queued: {kind} {object_id} -> {repo_id} on {out.endpoint}")
    if not wait:
        return 0
    while True:
        with session_scope() as s:
            job = s.get_one(Job, out.job_id)
            status, result, error = job.status, dict(job.result or {}), job.error
        if status.finished:
            break
        time.sleep(poll_s)
    if status.value != "succeeded":
        console.print(f"[red]push job {out.job_id}: {status.value}: {(error or {}).get('message', '')}[/red]")
        return 1
    console.print(f"pushed to {result['url']} (commit {result['commit']})")
    return 0
