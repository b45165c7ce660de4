"""The API's OpenAPI schema, built once per test process.

Building it walks every route and model (seconds on a 2-core machine); six tests across five modules
read it and none changes it, so they share one copy. Callers must not mutate what they get."""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def api_spec() -> dict[str, Any]:
    from backend.main import create_app  # late: a pure module imports this without building the app

    return create_app().openapi()
