"""The platform's two databases under one test: PostgreSQL (the session's, tests/support/env.py) and
the embedded SQLite file, which the app picks when DISTILLERY_DATABASE_URL is empty or sqlite:. Tests
of database paths (review claims and decisions, routing, calibration) run on both through the
`database` fixture (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tests.support.env import DATA_DIR

SQLITE_URL = f"sqlite:///{DATA_DIR / 'embedded' / 'distillery.db'}"


@contextmanager
def engine_on(url: str) -> Iterator[None]:
    """Every session_scope (the app's requests included) on `url` inside; the session's database
    again after. The engine and sessionmaker are cached per process, so both caches are cleared."""
    from backend.core import db
    from backend.core.config import get_settings

    settings = get_settings()
    before = settings.database_url

    def switch(to: str) -> None:
        db.get_engine().dispose()
        settings.database_url = to
        db.get_sessionmaker.cache_clear()
        db.get_engine.cache_clear()

    switch(url)
    try:
        yield
    finally:
        switch(before)


def migrate_sqlite() -> str:
    """The embedded SQLite database, migrated to head (idempotent); returns its URL."""
    from backend.core.migrate import upgrade_head

    (DATA_DIR / "embedded").mkdir(parents=True, exist_ok=True)
    with engine_on(SQLITE_URL):
        upgrade_head()
    return SQLITE_URL


@contextmanager
def throwaway_engine(kind: str, folder, name: str):
    """An empty database of `kind` (sqlite: a file in `folder`; postgresql: a database `name` on the
    test server, dropped after) as an engine, for tests that migrate a database of their own."""
    from sqlalchemy import create_engine

    from backend.core.db import make_engine
    from tests.support.env import PG_ADMIN, admin_exec

    if kind == "sqlite":
        engine = make_engine(f"sqlite:///{folder / (name + '.db')}")
        try:
            yield engine
        finally:
            engine.dispose()
        return
    admin_exec(f'DROP DATABASE IF EXISTS "{name}"')
    admin_exec(f'CREATE DATABASE "{name}"')
    engine = create_engine(
        PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
    )
    try:
        yield engine
    finally:
        engine.dispose()
        admin_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
