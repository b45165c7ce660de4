"""Checks every request gets before any route's own validation: no string anywhere may hold U+0000.

PostgreSQL text and jsonb cannot store NUL, so one that reaches a statement fails it (a 500). Rather
than a check on each field (names, models, prompts, settings, prices, form fields, query values), the
app runs this one dependency on every route: it walks the parsed JSON body (keys and values), the form
fields, the query and the path, and answers 422 with the path of each offending field.

The same walk refuses non-finite numbers (NaN, Infinity, 1e999) in a JSON body: Python's parser
accepts them, PostgreSQL's jsonb does not, and a float column that stores one is served back as null,
breaking the response's schema. Typed float fields also refuse "inf" as a string (allow_inf_nan=False on
the input models); this catches the literals in free-form JSON (settings, recipes) as well.
"""

from __future__ import annotations

import email.message
import math
from typing import Any

from fastapi import Request

from backend.core.errors import Invalid

_MESSAGE = "contains U+0000 (NUL), which cannot be stored"
_NON_FINITE = "must be a finite number"
_TYPES = {_MESSAGE: "nul_character", _NON_FINITE: "finite_number"}


def _walk(value: Any, path: str, found: list[tuple[str, str]]) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            found.append((path, _MESSAGE))
    elif isinstance(value, float):
        if not math.isfinite(value):
            found.append((path, _NON_FINITE))
    elif isinstance(value, dict):
        for k, v in value.items():
            if isinstance(k, str) and "\x00" in k:
                found.append((f"{path}.{k}", _MESSAGE))
            _walk(v, f"{path}.{k}", found)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _walk(v, f"{path}.{i}", found)


def _content_type(request: Request) -> tuple[str, str]:
    message = email.message.Message()
    message["content-type"] = request.headers.get("content-type", "")
    return message.get_content_maintype(), message.get_content_subtype()


async def refuse_nul(request: Request) -> None:
    """422 for U+0000 in any string of the request (or a non-finite number in its JSON body), with
    every offending field's path."""
    found: list[tuple[str, str]] = []
    for where, items in (
        ("path", request.path_params.items()),
        ("query", request.query_params.multi_items()),
    ):
        for k, v in items:
            if "\x00" in k or "\x00" in v:
                found.append((f"{where}.{k}", _MESSAGE))
    main, sub = _content_type(request)
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        if main == "application" and (sub == "json" or sub.endswith("+json")) and await request.body():
            try:
                body = await request.json()  # the route's own parse, cached on the request
            except ValueError:
                body = None  # malformed JSON: the route's validation says so
            _walk(body, "body", found)
        elif (main, sub) in (("multipart", "form-data"), ("application", "x-www-form-urlencoded")):
            form = await request.form()  # parsed once: the route reads the same form
            for k, v in form.multi_items():
                if isinstance(v, str) and ("\x00" in v or "\x00" in k):
                    found.append((f"body.{k}", _MESSAGE))
    if found:
        fields = [{"path": p, "message": m, "type": _TYPES[m]} for p, m in found]
        raise Invalid(f"invalid request: {found[0][0]}: {found[0][1]}", fields=fields)
