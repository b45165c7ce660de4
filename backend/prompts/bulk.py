"""Bulk writes of prompts: PostgreSQL COPY (psycopg 3) in batches, executemany elsewhere.

On PostgreSQL the COPY text format is built here with C-level string operations and sent in
large chunks: it is several times faster than per-row adaptation (`write_row`) and keeps the
import's hot loop in Python as short as it can be.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import insert
from sqlalchemy.orm import Session

from backend.prompts.importer import ParsedPrompt
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


NULL = "\\N"


def copy_text(value: str) -> str:
    """Escape one field for COPY's text format."""
    if "\\" in value:
        value = value.replace("\\", "\\\\")
    if "\n" in value:
        value = value.replace("\n", "\\n")
    if "\t" in value:
        value = value.replace("\t", "\\t")
    if "\r" in value:
        value = value.replace("\r", "\\r")
    return value


def _json(value: Any) -> str:
    return copy_text(orjson.dumps(value).decode())


class PromptWriter:
    """Buffers rows and flushes them in batches inside the caller's transaction (so imports stay atomic)."""

    def __init__(self, session: Session, prompt_set_id: int, batch: int = 5_000):
        self.session, self.prompt_set_id, self.batch = session, prompt_set_id, batch
        self.rows: list[tuple[Any, ...]] = []
        self.written = 0
        self._postgres = session.get_bind().dialect.name == "postgresql"
        self._copy_cm = self._copy = self._cursor = None

    def add(self, p: ParsedPrompt, split: str) -> None:
        """Queue one prompt of this writer's prompt set."""
        self.rows.append(
            (
                self.prompt_set_id,
                p.position,
                p.text,
                p.system,
                p.messages,
                p.reference,
                p.meta,
                p.text_hash,
                split,
            )
        )
        if len(self.rows) >= self.batch:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        if self._postgres:
            self._write_copy()
        else:
            self.session.execute(insert(Prompt), [dict(zip(COLUMNS, r, strict=True)) for r in self.rows])
        self.written += len(self.rows)
        self.rows.clear()

    def close(self) -> None:
        """Flush what is buffered and end the COPY; call before anything else uses the session."""
        self.flush()
        if self._copy_cm is not None:
            self._copy_cm.__exit__(None, None, None)
            self._cursor.close()
            self._copy_cm = self._copy = self._cursor = None

    def abort(self, exc: BaseException) -> None:
        """End a COPY in progress with an error so the connection can roll back."""
        if self._copy_cm is not None:
            try:
                self._copy_cm.__exit__(type(exc), exc, exc.__traceback__)
            except Exception:  # noqa: BLE001 - the original error is the one that matters
                pass
            self._cursor.close()
            self._copy_cm = self._copy = self._cursor = None

    def _write_copy(self) -> None:
        if self._copy is None:
            # One COPY for the whole import: PostgreSQL ingests while we parse the next batch.
            raw = self.session.connection().connection.driver_connection  # psycopg.Connection
            self._cursor = raw.cursor()
            from psycopg.copy import QueuedLibpqWriter

            # A writer thread feeds PostgreSQL while this thread parses and cleans the next batch.
            self._copy_cm = self._cursor.copy(
                f"COPY prompts ({', '.join(COLUMNS)}) FROM STDIN", writer=QueuedLibpqWriter(self._cursor)
            )
            self._copy = self._copy_cm.__enter__()
        null, esc = NULL, copy_text
        lines = []
        for ps, pos, text, system, messages, ref, meta, h, split in self.rows:
            fields = (
                str(ps),
                str(pos),
                esc(text),
                null if system is None else esc(system),
                null if messages is None else _json(messages),
                null if ref is None else esc(ref),
                _json(meta),
                h,
                split,
            )
            lines.append("\t".join(fields))
        lines.append("")
        self._copy.write("\n".join(lines))
