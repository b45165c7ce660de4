"""Bulk writes of prompts: PostgreSQL COPY (psycopg 3) in batches, executemany elsewhere."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from backend.prompts.models import Prompt

COLUMNS = (
    "prompt_set_id",
    "position",
    "text",
    "system",
    "messages",
    "reference",
    "meta",
    "text_hash",
    "split",
)


class PromptWriter:
    """Buffers rows and flushes them in batches inside the caller's transaction (so imports stay atomic)."""

    def __init__(self, session: Session, batch: int = 20_000):
        self.session, self.batch = session, batch
        self.rows: list[tuple[Any, ...]] = []
        self.written = 0
        self._postgres = session.get_bind().dialect.name == "postgresql"

    def add(self, row: tuple[Any, ...]) -> None:
        """row follows COLUMNS; messages and meta are Python objects."""
        self.rows.append(row)
        if len(self.rows) >= self.batch:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        if self._postgres:
            self._copy()
        else:
            self.session.execute(insert(Prompt), [dict(zip(COLUMNS, r, strict=True)) for r in self.rows])
        self.written += len(self.rows)
        self.rows.clear()

    def _copy(self) -> None:
        dumps = json.dumps
        raw = self.session.connection().connection.driver_connection  # psycopg.Connection
        with raw.cursor() as cur, cur.copy(f"COPY prompts ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for ps, pos, text, system, messages, ref, meta, h, split in self.rows:
                copy.write_row(
                    (
                        ps,
                        pos,
                        text,
                        system,
                        None if messages is None else dumps(messages),
                        ref,
                        dumps(meta),
                        h,
                        split,
                    )
                )
