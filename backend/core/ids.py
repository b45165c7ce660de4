"""Row ids as request inputs: one bound for every id in a path, a query or a body.

Ids are PostgreSQL `integer` columns: an id of 2**31 or more cannot name a row, and sent to the
database it fails the whole statement (a 500). Bounded here, it is a 422 with the field's path.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import Field

ID_MAX = 2**31 - 1
BIG_ID_MAX = 2**63 - 1  # `bigint` ids (generations)

Id = Annotated[int, Field(ge=1, le=ID_MAX)]
"""An id in a request body."""
PathId = Annotated[int, Path(ge=1, le=ID_MAX)]
BigPathId = Annotated[int, Path(ge=1, le=BIG_ID_MAX)]
QueryId = Annotated[int, Query(ge=1, le=ID_MAX)]
