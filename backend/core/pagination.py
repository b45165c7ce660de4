"""Keyset pagination: newest first on an indexed id, an opaque cursor, never a COUNT."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import Connection, Integer, Select, bindparam
from sqlalchemy.orm import InstrumentedAttribute, Session

from backend.core.errors import Invalid

T = TypeVar("T", bound=BaseModel)


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, value = raw.split(":", 1)
        if kind != "id":
            raise ValueError
        return int(value)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid(
            "cursor is not one this API issued",
            fields=[{"path": "query.cursor", "message": "invalid cursor", "type": "value_error"}],
        ) from exc


def keyset(
    session: Session,
    stmt: Select,
    id_col: InstrumentedAttribute,
    *,
    limit: int,
    cursor: str | None,
    descending: bool = True,
) -> tuple[Sequence[Any], str | None]:
    """Run stmt one page at a time; returns the rows and the cursor for the next page."""
    if cursor:
        last = decode_cursor(cursor)
        stmt = stmt.where(id_col < last if descending else id_col > last)
    stmt = stmt.order_by(id_col.desc() if descending else id_col.asc()).limit(limit + 1)
    rows = session.scalars(stmt).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_cursor(getattr(rows[-1], id_col.key)) if more and rows else None)


class KeysetQuery:
    """keyset() for a statement built once (at import) with bind parameters for its values: building a
    statement and its cache key cost more than running it, on a list every page of the dashboard
    polls. Holds the first page's statement and the one after a cursor; stmt selects plain columns (one
    of them id_col), and the rows are Core rows."""

    def __init__(self, stmt: Select, id_col: InstrumentedAttribute, *, descending: bool = True):
        self._id = id_col.key
        order = id_col.desc() if descending else id_col.asc()
        limit = bindparam("_limit", type_=Integer)
        after = id_col < bindparam("_after") if descending else id_col > bindparam("_after")
        self._first = stmt.order_by(order).limit(limit)
        self._next = stmt.where(after).order_by(order).limit(limit)

    def page(
        self, session: Session | Connection, params: dict[str, Any], *, limit: int, cursor: str | None
    ) -> tuple[Sequence[Any], str | None]:
        """One page of rows for these parameters, and the cursor for the next page. Given the session's
        Connection, the statement skips the ORM's result handling (a third of a list's CPU)."""
        if cursor:
            stmt, params = self._next, {**params, "_after": decode_cursor(cursor)}
        else:
            stmt = self._first
        rows = session.execute(stmt, {**params, "_limit": limit + 1}).all()
        more = len(rows) > limit
        rows = rows[:limit]
        return rows, (encode_cursor(getattr(rows[-1], self._id)) if more and rows else None)
