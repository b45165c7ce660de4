"""Bring a database to the newest schema with Alembic (the app never calls create_all)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

ROOT = Path(__file__).resolve().parents[2]


def alembic_config() -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["configure_logger"] = False
    return cfg


def upgrade_head() -> None:
    """Apply every migration not yet applied to DISTILLERY_DATABASE_URL."""
    command.upgrade(alembic_config(), "head")


def include_object(dialect: str):
    """Alembic's include_object for a database of this dialect: an index the models mark
    info={"postgresql_only": True} (a pg_trgm GIN index) exists only on PostgreSQL."""

    def include(obj, name, type_, reflected, compare_to) -> bool:
        if type_ == "index" and not reflected and obj.info.get("postgresql_only"):
            return dialect == "postgresql"
        return True

    return include
