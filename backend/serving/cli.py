"""`distillery models serve | served | stop`: serve a trained model from a terminal (a gpu worker holds
the server), list what is served, stop it. The same service as the API's routes."""

from __future__ import annotations

import time
from typing import Any

import typer
from rich.console import Console

from backend.core.db import session_scope
from backend.core.errors import AppError
from backend.projects.service import find_project
from backend.serving import service
from backend.serving.schemas import ServedOut, ServedStatus, ServeRequest
from backend.training.service import get_model

ENDED = {ServedStatus.stopped, ServedStatus.failed}


# the request's fields as the command's options, for an error that names one
OPTIONS = {"body.settings": "--settings", "body.name": "--name", "body.adapters": "--adapter"}


def _fail(exc: AppError, hint: str) -> typer.BadParameter:
    path = str((exc.fields or [{}])[0].get("path", ""))
    named = [option for prefix, option in OPTIONS.items() if path.startswith(prefix)]
    return typer.BadParameter(exc.message, param_hint=named[0] if named else hint)


def line(out: ServedOut) -> str:
    where = f" at {out.base_url} (teacher {out.teacher_id})" if out.base_url else ""
    names = ", ".join(a.name for a in out.adapters)
    error = f": {out.error.get('message', '')}" if out.error else ""
    # no square brackets: rich reads them as markup
    return f"served {out.id} {out.status.value}: {names} (model {out.artifact_id}){where}{error}"


def start(project: str, model_id: int, request: ServeRequest, *, console: Console) -> int:
    with session_scope() as s:
        try:
            proj = find_project(s, project)
        except AppError as exc:
            raise _fail(exc, "PROJECT") from None
        try:
            art = get_model(s, project=proj, model_id=model_id)
            row = service.serve_model(s, project=proj, artifact=art, data=request, user_id=None)
        except AppError as exc:
            raise _fail(exc, "MODEL_ID") from None
        console.print(line(service.to_out(s, row)))
        return row.id


def follow(served_id: int, *, console: Console, until: set[ServedStatus], poll_s: float = 1.0) -> int:
    """Wait until the served model is in one of `until` (or ended); print each change. 0 when reached."""
    seen: ServedStatus | None = None
    while True:
        with session_scope() as s:
            out = service.to_out(s, s.get_one(service.ServedModel, served_id))
        if out.status != seen:
            console.print(line(out))
            seen = out.status
        if out.status in until:
            return 0
        if out.status in ENDED:
            return 1
        time.sleep(poll_s)


def listing(project: str) -> list[dict[str, Any]]:
    with session_scope() as s:
        try:
            proj = find_project(s, project)
        except AppError as exc:
            raise _fail(exc, "PROJECT") from None
        rows, _ = service.list_served(s, project=proj, limit=200, cursor=None)
        return [service.to_out(s, r).model_dump(mode="json") for r in rows]


def stop(project: str, served_id: int, *, console: Console) -> None:
    with session_scope() as s:
        try:
            proj = find_project(s, project)
            row = service.get_served(s, project=proj, served_id=served_id)
        except AppError as exc:
            raise _fail(exc, "SERVED_ID") from None
        service.stop_served(s, row=row)
        s.commit()
        console.print(line(service.to_out(s, row)))
