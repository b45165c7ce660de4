"""Prompt sets (versioned, frozen once a run uses them) and their prompts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, BigId, JSONType, utcnow


class PromptSet(Base):
    __tablename__ = "prompt_sets"
    __table_args__ = (UniqueConstraint("project_id", "name", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(default=1)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("prompt_sets.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(16), default="ready")  # importing | ready | failed
    frozen: Mapped[bool] = mapped_column(default=False)
    prompt_count: Mapped[int] = mapped_column(BigInteger, default=0)
    stats: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the prompt_search job finished copying this set's prompts into prompt_search; until then
    # (and always on SQLite) the sample browser's text search scans prompts instead.
    search_indexed_at: Mapped[datetime | None] = mapped_column()


class Prompt(Base):
    __tablename__ = "prompts"
    # Deliberately no index on text_hash: deduplication runs in memory during an import, and every
    # extra index slows the COPY that writes a million rows. For the same reason prompt_set_id has no
    # foreign key, which would look its prompt set up once per row: migration 0005 gives the same
    # guarantees (the set must exist and is locked FOR KEY SHARE; deleting it deletes its prompts) with
    # triggers that run once per statement. No text index either: ~80 us of PostgreSQL CPU a row on
    # import (bench/RESULTS.md section 4); the sample browser's substring search reads PromptSearch.
    __table_args__ = (UniqueConstraint("prompt_set_id", "position"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    prompt_set_id: Mapped[int] = mapped_column(index=False)  # references prompt_sets.id (see above)
    position: Mapped[int] = mapped_column(BigInteger)  # row order in the source file; keyset key
    text: Mapped[str] = mapped_column(Text)
    system: Mapped[str | None] = mapped_column(Text, default=None)
    messages: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType, default=None)
    reference: Mapped[str | None] = mapped_column(Text, default=None)
    meta: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    text_hash: Mapped[str] = mapped_column(String(32))
    split: Mapped[str] = mapped_column(String(8), default="train")


class PromptSearch(Base):
    """A copy of each prompt's text for the sample browser's substring search, with the pg_trgm GIN
    index (PostgreSQL only) that the import's COPY into prompts must not pay for. Filled after an import
    commits, by the prompt_search_index job (backend/prompts/search.py); PromptSet.search_indexed_at
    says when a set is complete."""

    __tablename__ = "prompt_search"
    __table_args__ = (
        Index(
            "ix_prompt_search_text_trgm",
            "text",
            postgresql_using="gin",
            postgresql_ops={"text": "gin_trgm_ops"},
            info={"postgresql_only": True},
        ),
    )

    prompt_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("prompts.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    prompt_set_id: Mapped[int] = mapped_column()
    text: Mapped[str] = mapped_column(Text)
