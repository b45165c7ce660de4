"""Engine, sessions and the declarative base shared by every domain's models."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Integer,
    MetaData,
    Table,
    TypeDecorator,
    create_engine,
    event,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from backend.core.config import get_settings

# Stable constraint names so Alembic autogenerate and hand-written migrations agree.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# JSONB on PostgreSQL, JSON text elsewhere; BIGINT ids that still autoincrement on SQLite.
JSONType = JSON().with_variant(JSONB(), "postgresql")
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC on every backend (SQLite hands back naive datetimes)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value, dialect):
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value

    def result_processor(self, dialect, coltype):
        """On SQLite, the stored text parsed and made UTC in one call: the decorator's chain (SQLite's
        DATETIME processor, then process_result_value) was a fifth of a runs-list request's CPU on the
        embedded database (3 datetimes a run). Elsewhere the driver's datetimes, as before."""
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        parse, chain = datetime.fromisoformat, super().result_processor(dialect, coltype)

        def process(value):
            if value.__class__ is not str:  # None, or what SQLite's own processor handles (a number)
                return chain(value) if chain is not None and value is not None else value
            # SQLAlchemy's storage format ("2026-12-08 03:42:30.605062", or CURRENT_TIMESTAMP's without
            # the fraction) has no offset: parsed as UTC in one call (datetime.replace cost 5x the parse)
            if len(value) == 26 and value[19] == "." or len(value) == 19 and value[16] == ":":
                return parse(value + "+00:00")
            found = parse(value)
            return found if found.tzinfo is not None else found.replace(tzinfo=UTC)

        return process


class Base(DeclarativeBase):
    # every model is declared with a Table (DeclarativeBase types it as any FromClause, which has no
    # insert/update/delete): the Core statements on Model.__table__ type-check
    __table__: ClassVar[Table]
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime()}


# SQLite connections kept open by each process's pool. With QueuePool's default 5 (+10 overflow), 32
# requests in flight opened and closed a connection every few requests, each paying the file's open,
# the pragmas below, a parse of the whole schema and an empty statement cache (measured: 70 connects per
# 1,280 list requests). An open SQLite connection costs a page cache (2 MB at most) and a file handle.
SQLITE_POOL = 40  # anyio's default thread limit: every request thread of the API keeps its connection


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            hide_parameters=True,
            pool_size=SQLITE_POOL,
            max_overflow=SQLITE_POOL,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # the api and the worker share one file
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    # hide_parameters: a failed statement's message (logged with every 500) would carry its values:
    # password hashes, encrypted teacher keys, token hashes
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10, hide_parameters=True)


@lru_cache
def get_engine() -> Engine:
    settings = get_settings()
    if settings.sqlalchemy_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return make_engine(settings.sqlalchemy_url)


@lru_cache
def get_sessionmaker() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


def dialect_insert(dialect: str | None = None):
    """The dialect's INSERT with ON CONFLICT (PostgreSQL, or SQLite for the embedded default): every
    upsert starts here. `dialect` for statements built once and cached per dialect."""
    if (dialect or get_engine().dialect.name) == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


def storable(value: Any) -> Any:
    """value with every NUL in its strings (dict keys too) replaced by U+FFFD: PostgreSQL's text and
    jsonb cannot hold NUL, and teachers (small ones especially) emit it, which details then quote."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable(v) for v in value]
    return value


def connection_of(db: Session | Connection) -> Connection:
    """The Connection to run Core statements on, given a Session (a route's) or a Connection (the list
    fast path's, which needs none of the Session's transaction bookkeeping: backend/api/hot_lists.py)."""
    return db.connection() if isinstance(db, Session) else db


@contextmanager
def session_scope() -> Iterator[Session]:
    """One transaction for a task or a script: committed at the edge, rolled back on error."""
    session = get_sessionmaker()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
