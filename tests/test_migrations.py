"""Alembic brings an empty PostgreSQL and an empty SQLite to head, and head matches the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from backend.core.db import make_engine
from backend.core.migrate import alembic_config
from backend.models import Base
from tests.conftest import PG_ADMIN, _admin_exec

EXPECTED_TABLES = {
    "users",
    "api_tokens",
    "projects",
    "memberships",
    "teachers",
    "prompt_sets",
    "prompts",
    "runs",
    "run_stages",
    "generations",
    "verdicts",
    "reviews",
    "dataset_snapshots",
    "model_artifacts",
    "evaluations",
}


def _upgrade(engine) -> None:
    from alembic import command

    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def _drift(engine) -> list:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(ctx, Base.metadata)


@pytest.fixture(params=["postgresql", "sqlite"])
def empty_engine(request, tmp_path):
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
        yield engine
        engine.dispose()
        return
    name = f"distillery_migr_{id(request)}"
    _admin_exec(f'DROP DATABASE IF EXISTS "{name}"')
    _admin_exec(f'CREATE DATABASE "{name}"')
    engine = create_engine(
        PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
    )
    yield engine
    engine.dispose()
    _admin_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_upgrade_empty_database_to_head_without_drift(empty_engine):
    assert inspect(empty_engine).get_table_names() == []
    _upgrade(empty_engine)
    tables = set(inspect(empty_engine).get_table_names())
    assert EXPECTED_TABLES <= tables and "alembic_version" in tables
    assert _drift(empty_engine) == []


def test_drift_check_catches_a_model_change(empty_engine):
    """The drift check is live: a column the migrations do not know about shows up."""
    from sqlalchemy import Column, Integer, MetaData, Table

    _upgrade(empty_engine)
    md = MetaData()
    for t in Base.metadata.tables.values():
        t.to_metadata(md)
    Table("users", md, Column("shoe_size", Integer), extend_existing=True)
    with empty_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), md)
    assert any(d[0] == "add_column" and d[3].name == "shoe_size" for d in diff)


def test_keyset_indexes_exist_for_big_lists(empty_engine):
    _upgrade(empty_engine)
    insp = inspect(empty_engine)
    cols = {t: [i["column_names"] for i in insp.get_indexes(t)] for t in ("runs", "generations", "prompts")}
    assert ["project_id", "id"] in cols["runs"]
    assert ["run_id", "id"] in cols["generations"]
    uniques = [u["column_names"] for u in insp.get_unique_constraints("generations")]
    assert ["run_id", "prompt_id", "attempt"] in uniques


def test_app_never_calls_create_all():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    calls = [
        f"{p}:{n}"
        for d in ("backend", "workers")
        for p in (root / d).rglob("*.py")
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if re.search(r"\.create_all\(", line)
    ]
    assert calls == []
