"""Alembic environment: the URL comes from DISTILLERY_DATABASE_URL (or a connection handed in)."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context

from backend.core.config import get_settings
from backend.core.db import UTCDateTime, get_engine
from backend.core.migrate import include_object
from backend.models import Base

config = context.config
if config.config_file_name and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=get_settings().sqlalchemy_url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    with get_engine().connect() as conn:
        _run(conn)


def _render_item(type_, obj, autogen_context):
    # UTCDateTime only converts on load; in the schema it is a plain timestamptz.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection) -> None:
    # Batch mode lets the same migrations alter tables on SQLite, by copying a table into a new one and
    # dropping the old. With foreign keys on, that drop would delete the rows that reference the old
    # table (ON DELETE CASCADE), so on SQLite they are off while migrating (SQLite ignores this pragma
    # inside a transaction, so it goes first) and every reference is checked before the commit.
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        render_item=_render_item,
        include_object=include_object(connection.dialect.name),
    )
    with context.begin_transaction():
        context.run_migrations()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"migrating left rows whose references are broken: {broken[:5]}")
    if connection.in_transaction():
        connection.commit()
    if sqlite:  # on the driver's connection: a caller's transaction block may still be open here
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
