"""UTCDateTime on SQLite (backend/core/db.py): its one-call result processor reads every form of stored
text as the decorator's chain (SQLite's DATETIME processor, then process_result_value) reads it, and a
value written by the ORM comes back as the aware UTC datetime it was."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select, text

from backend.core.db import UTCDateTime

pytestmark = pytest.mark.pure  # no database, broker or worker: `make test-fast` runs it with both down

STORED = [
    "2026-12-08 03:42:30.605062",  # SQLAlchemy's storage format
    "2026-12-08 03:42:30.000000",
    "2026-12-08 03:42:30",  # CURRENT_TIMESTAMP's
    "2026-12-08T03:42:30.5",
    "2026-12-08 03:42:30.605062+02:00",  # an offset is kept, not overwritten with UTC
    "2026-12-08 03:42:30Z",
    "2026-12-08 03:42+02",  # 19 characters, with an offset
]


@pytest.fixture
def table():
    engine = create_engine("sqlite://")
    t = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("at", UTCDateTime()))
    t.metadata.create_all(engine)
    return engine, t


def _chain(value: str) -> datetime:
    """What the decorator's default chain gives: fromisoformat, then UTC where naive."""
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def test_every_stored_form_reads_as_the_chain_reads_it(table):
    engine, t = table
    with engine.begin() as conn:
        for i, raw in enumerate(STORED):
            conn.execute(text("INSERT INTO t (id, at) VALUES (:i, :raw)"), {"i": i, "raw": raw})
        conn.execute(text("INSERT INTO t (id, at) VALUES (99, NULL)"))
        got = dict(conn.execute(select(t.c.id, t.c.at)).all())
    assert got.pop(99) is None
    for i, raw in enumerate(STORED):
        assert got[i] == _chain(raw) and got[i].utcoffset() == _chain(raw).utcoffset(), raw
    assert got[0].tzinfo is not None and got[0].utcoffset() == timedelta(0)
    assert got[4].utcoffset() == timedelta(hours=2)


def test_a_written_datetime_comes_back_aware_and_equal(table):
    engine, t = table
    written = [
        datetime(2026, 12, 8, 3, 42, 30, 605062, tzinfo=UTC),
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    ]
    with engine.begin() as conn:
        conn.execute(insert(t), [{"id": i, "at": w} for i, w in enumerate(written)])
        got = [r.at for r in conn.execute(select(t.c.at).order_by(t.c.id))]
    assert got == written and all(g.tzinfo is not None for g in got)
    # a naive value written is read as UTC (SQLite keeps no offset)
    with engine.begin() as conn:
        conn.execute(insert(t), {"id": 9, "at": datetime(2026, 5, 6, 7, 8, 9)})
        assert conn.scalar(select(t.c.at).where(t.c.id == 9)) == datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC)
