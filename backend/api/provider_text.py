"""A provider's own error text (the body of a non-2xx answer, cut to 300 characters) reaches only
maintainers and owners of the project. Workers store it after PROVIDER_SAYS in generations.error, a
stage's error, a probe's error and a job's error; for viewers and reviewers every JSON response of a
project route has what follows the marker in each string replaced. A body could otherwise carry what
an endpoint on the provider's side (or, before the egress policy, an internal service) chose to say.

The project dependency (backend/api/deps.py) marks the request; this middleware rewrites the body."""

from __future__ import annotations

import re
from typing import Any

from backend.core.egress import PROVIDER_SAYS

STATE_KEY = "hide_provider_text"
HIDDEN = "(shown to the project's maintainers)"
_IN_JSON_STRING = re.compile(re.escape(PROVIDER_SAYS).encode() + rb'(?:[^"\\]|\\.)*')
_REPLACEMENT = (PROVIDER_SAYS + HIDDEN).encode()


def hide(body: bytes) -> bytes:
    """body (JSON) with the provider's text in every string replaced."""
    return _IN_JSON_STRING.sub(lambda _: _REPLACEMENT, body)


class HideProviderText:
    """Pure ASGI middleware: buffers a JSON response only when the request was marked and the body
    carries the marker, so every other response streams through untouched."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})  # the dict the dependency writes into
        start: dict | None = None
        chunks: list[bytes] = []

        async def wrapped(message: dict) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                if state.get(STATE_KEY):
                    headers = dict(message.get("headers") or [])
                    if headers.get(b"content-type", b"").startswith(b"application/json"):
                        start = message  # held until the whole body is in
                        return
                await send(message)
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks)
            if PROVIDER_SAYS.encode() in body:
                body = hide(body)
            kept = [(k, v) for k, v in start.get("headers") or [] if k.lower() != b"content-length"]
            kept.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": kept})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, wrapped)
