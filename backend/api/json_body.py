"""Responses serialised once, by orjson, for the list routes on the hot path (the runs list, a page of
generations). Those routes read plain rows in their declared types from the database; FastAPI would
validate every item again through its response model (and the handler would build a model per row),
which cost more CPU than the query itself. The route keeps its response model for the OpenAPI schema
and the typed client; tests/api/test_list_shapes.py checks that what is written here is exactly what
the response model would have written (datetimes as pydantic writes them: UTC as "Z")."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import Response

OPTIONS = orjson.OPT_UTC_Z


def json_response(content: Any) -> Response:
    """content (dicts, lists, str, numbers, datetimes) as an application/json response."""
    return Response(orjson.dumps(content, option=OPTIONS), media_type="application/json")
