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
