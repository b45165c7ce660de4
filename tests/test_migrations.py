"""Alembic brings an empty PostgreSQL and an empty SQLite to head, and head matches the models."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import column, insert, inspect, select, table

from backend.core.db import make_engine
from backend.core.migrate import alembic_config, include_object
from backend.models import Base
from tests.support.databases import throwaway_engine

EXPECTED_TABLES = {
    "users",
    "api_tokens",
    "projects",
    "memberships",
    "teachers",
    "prompt_sets",
    "prompt_search",
    "prompts",
    "runs",
    "run_stages",
    "generations",
    "verdicts",
    "reviews",
    "dataset_snapshots",
    "model_artifacts",
    "evaluations",
    "invitations",
}


def _upgrade(engine) -> None:
    from alembic import command

    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def _drift(engine) -> list:
    with engine.connect() as conn:
        opts = {"compare_type": True, "include_object": include_object(conn.dialect.name)}
        ctx = MigrationContext.configure(conn, opts=opts)
        return compare_metadata(ctx, Base.metadata)


@pytest.fixture(params=["postgresql", "sqlite"])
def empty_engine(request, tmp_path):
    with throwaway_engine(request.param, tmp_path, f"distillery_migr_{id(request)}") as engine:
        yield engine


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


def _seed_sets(engine) -> dict[str, int]:
    """A project with two prompt sets of three prompts each, and a run with a generation on set a."""
    from sqlalchemy.orm import Session

    from backend.prompts.models import Prompt, PromptSet
    from backend.runs.models import Run
    from backend.samples.models import Generation

    with Session(engine) as s:
        # Core, not the ORM: the seed runs at old revisions, which lack columns added since (slug).
        values = {"name": "Évals: p", "description": "", "created_at": datetime.now(UTC)}
        if "slug" in {c["name"] for c in inspect(engine).get_columns("projects")}:
            values["slug"] = "p-seeded"
        projects = table("projects", column("id"), *map(column, values))
        pid = s.execute(insert(projects).values(**values).returning(projects.c.id)).scalar_one()
        ids = {"project": pid}
        for name in ("a", "b"):
            # Core as well: only the columns given (and those with defaults) are written.
            stmt = insert(PromptSet.__table__).values(project_id=pid, name=name)
            ids[name] = s.execute(stmt.returning(PromptSet.__table__.c.id)).scalar_one()
            s.add_all(
                Prompt(prompt_set_id=ids[name], position=i, text=f"{name}{i}", meta={}, text_hash="0" * 32)
                for i in range(3)
            )
        s.flush()
        run = Run(project_id=pid, name="r", recipe={}, prompt_set_id=ids["a"])
        s.add(run)
        s.flush()
        first = s.scalars(select(Prompt.id).where(Prompt.prompt_set_id == ids["a"])).first()
        # Core, not the ORM: the seed runs at old revisions, which lack columns added since.
        s.execute(
            insert(Generation.__table__).values(run_id=run.id, prompt_id=first, attempt=0, status="ok",
                                                from_cache=False, created_at=datetime.now(UTC))
        )  # fmt: skip
        s.commit()
        ids["run"] = run.id
    return ids


def _count(engine, sql: str) -> int:
    with engine.connect() as conn:
        return conn.exec_driver_sql(sql).scalar_one()


def test_a_prompt_needs_an_existing_prompt_set(empty_engine):
    """prompts.prompt_set_id has no foreign key (it cost half the COPY speed); triggers enforce it."""
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.orm import Session

    from backend.prompts.models import Prompt

    _upgrade(empty_engine)
    ids = _seed_sets(empty_engine)
    assert not inspect(empty_engine).get_foreign_keys("prompts")
    with Session(empty_engine) as s:
        s.add_all(
            [
                Prompt(prompt_set_id=ids["a"], position=10, text="ok", meta={}, text_hash="1" * 32),
                Prompt(prompt_set_id=999_999, position=0, text="orphan", meta={}, text_hash="2" * 32),
            ]
        )
        with pytest.raises(DBAPIError, match="prompt set"):
            s.commit()
    with Session(empty_engine) as s:  # moving a prompt to a set that does not exist fails too
        p = s.scalars(select(Prompt).where(Prompt.prompt_set_id == ids["b"])).first()
        p.prompt_set_id = 999_999
        with pytest.raises(DBAPIError, match="prompt set"):
            s.commit()
    assert _count(empty_engine, "SELECT count(*) FROM prompts") == 6
    if empty_engine.dialect.name == "postgresql":  # COPY, the import's path, is checked as well
        with empty_engine.connect() as conn:
            raw = conn.connection.driver_connection
            with pytest.raises(Exception, match="prompt set 999999 does not exist"):
                with raw.cursor().copy(
                    "COPY prompts (prompt_set_id, position, text, meta, text_hash, split) FROM STDIN"
                ) as cp:
                    cp.write(f"{ids['a']}\t20\tx\t{{}}\t{'3' * 32}\ttrain\n")
                    cp.write(f"999999\t21\ty\t{{}}\t{'4' * 32}\ttrain\n")
            raw.rollback()
        assert _count(empty_engine, "SELECT count(*) FROM prompts") == 6


def test_deleting_a_prompt_set_deletes_its_prompts_and_their_generations(empty_engine):
    _upgrade(empty_engine)
    ids = _seed_sets(empty_engine)
    with empty_engine.begin() as conn:
        conn.exec_driver_sql(f"DELETE FROM prompt_sets WHERE id = {ids['b']}")
    assert _count(empty_engine, f"SELECT count(*) FROM prompts WHERE prompt_set_id = {ids['b']}") == 0
    assert _count(empty_engine, f"SELECT count(*) FROM prompts WHERE prompt_set_id = {ids['a']}") == 3
    assert _count(empty_engine, "SELECT count(*) FROM generations") == 1
    with empty_engine.begin() as conn:  # a project's deletion cascades through its sets to prompts
        conn.exec_driver_sql(f"DELETE FROM projects WHERE id = {ids['project']}")
    assert _count(empty_engine, "SELECT count(*) FROM prompts") == 0
    assert _count(empty_engine, "SELECT count(*) FROM generations") == 0


def test_upgrade_of_a_sqlite_database_with_data_keeps_every_row(tmp_path):
    """Migration 0005 rebuilds SQLite's prompts table; the generations that point at it must survive."""
    from alembic import command

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0004")
    ids = _seed_sets(engine)
    assert inspect(engine).get_foreign_keys("prompts")
    _upgrade(engine)
    assert not inspect(engine).get_foreign_keys("prompts")
    assert _count(engine, "SELECT count(*) FROM prompts") == 6
    assert _count(engine, "SELECT count(*) FROM generations") == 1
    assert _count(engine, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'") == 3
    with engine.connect() as conn:  # 0014 gave the existing project its slug
        assert conn.exec_driver_sql("SELECT slug FROM projects").scalar_one() == f"evals-p-{ids['project']}"
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    engine.dispose()


def _indexes(engine, table_name: str) -> set[str]:
    return {i["name"] for i in inspect(engine).get_indexes(table_name)}


def test_0015_moves_the_text_index_to_prompt_search_and_back(empty_engine):
    """Up: prompts loses its trigram index, prompt_search has it (PostgreSQL) and its rows go with
    their prompt set; down to 0014: the index is back on prompts, prompt_search and the flag gone."""
    from alembic import command

    pg = empty_engine.dialect.name == "postgresql"
    cfg = alembic_config()
    with empty_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0014")
    assert ("ix_prompts_text_trgm" in _indexes(empty_engine, "prompts")) == pg
    _upgrade(empty_engine)
    assert "ix_prompts_text_trgm" not in _indexes(empty_engine, "prompts")
    assert ("ix_prompt_search_text_trgm" in _indexes(empty_engine, "prompt_search")) == pg
    assert "search_indexed_at" in {c["name"] for c in inspect(empty_engine).get_columns("prompt_sets")}
    ids = _seed_sets(empty_engine)
    with empty_engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO prompt_search (prompt_id, prompt_set_id, text) "
            "SELECT id, prompt_set_id, text FROM prompts"
        )
        conn.exec_driver_sql(f"DELETE FROM prompt_sets WHERE id = {ids['b']}")
    assert _count(empty_engine, f"SELECT count(*) FROM prompt_search WHERE prompt_set_id = {ids['b']}") == 0
    assert _count(empty_engine, f"SELECT count(*) FROM prompt_search WHERE prompt_set_id = {ids['a']}") == 3

    with empty_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0014")
    assert "prompt_search" not in inspect(empty_engine).get_table_names()
    assert "search_indexed_at" not in {c["name"] for c in inspect(empty_engine).get_columns("prompt_sets")}
    assert ("ix_prompts_text_trgm" in _indexes(empty_engine, "prompts")) == pg
    assert _count(empty_engine, "SELECT count(*) FROM prompts") == 3
    _upgrade(empty_engine)
    assert _drift(empty_engine) == []


def test_evaluations_added_by_reruns_are_removed_keeping_each_models_latest(empty_engine):
    """0017: a stage that ran again used to add a second evaluation per model; the latest stays (with
    its answers), the older ones go with theirs, and (stage, label) is unique from then on."""
    from alembic import command
    from sqlalchemy.exc import IntegrityError

    from backend.evals.models import EvalSample, Evaluation
    from backend.runs.models import RunStage

    cfg = alembic_config()
    with empty_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0016")
    ids = _seed_sets(empty_engine)
    ev, sample = Evaluation.__table__, EvalSample.__table__
    with empty_engine.begin() as conn:
        st = RunStage.__table__
        values = {"run_id": ids["run"], "position": 0, "kind": "evaluate", "status": "succeeded"}
        stage = conn.execute(insert(st).values(**values).returning(st.c.id)).scalar_one()
        rows = []
        for label in ("tiny", "teacher", "tiny", "teacher", "tiny"):
            values = dict(
                project_id=ids["project"], run_id=ids["run"], stage_id=stage, label=label, model="m"
            )
            values.update(role="other", verifier="math", config={}, config_hash="", metrics={})
            rows.append(conn.execute(insert(ev).values(**values).returning(ev.c.id)).scalar_one())
            conn.execute(insert(sample).values(evaluation_id=rows[-1], prompt_id=1, sample=0, status="ok"))
    _upgrade(empty_engine)
    with empty_engine.connect() as conn:
        assert sorted(conn.execute(select(ev.c.id)).scalars()) == [rows[3], rows[4]]
        assert sorted(conn.execute(select(sample.c.evaluation_id)).scalars()) == [rows[3], rows[4]]
    with pytest.raises(IntegrityError), empty_engine.begin() as conn:
        conn.execute(insert(ev).values(**{**values, "label": "tiny"}))
