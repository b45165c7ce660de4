"""Keyset pagination: newest first on an indexed id, an opaque cursor, never a COUNT."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import Select
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
    columns: bool = False,
) -> tuple[Sequence[Any], str | None]:
    """Run stmt one page at a time; returns the rows and the cursor for the next page. columns: stmt
    selects plain columns (one of them id_col) and the rows are Core rows, not ORM objects."""
    if cursor:
        last = decode_cursor(cursor)
        stmt = stmt.where(id_col < last if descending else id_col > last)
    stmt = stmt.order_by(id_col.desc() if descending else id_col.asc()).limit(limit + 1)
    rows = (session.execute(stmt) if columns else session.scalars(stmt)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_cursor(getattr(rows[-1], id_col.key)) if more and rows else None)
