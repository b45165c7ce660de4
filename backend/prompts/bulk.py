"""Bulk writes of prompts: PostgreSQL COPY (psycopg 3) in batches, executemany elsewhere.

On PostgreSQL the rows go through psycopg's own `copy.write_row` (its C adaptation and escaping).
Hand-built COPY text lines were measured against it on a million rows (bench/prompt_import.py,
bench/RESULTS.md): they saved about 0.6 s of CPU and no wall time, under 3% of the import, so the
escaping is psycopg's. JSON columns are encoded once per batch with orjson (NULs scrubbed for jsonb).
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import insert
from sqlalchemy.orm import Session

from backend.prompts.importer import Columns, ParsedPrompt
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

    def __init__(self, session: Session, prompt_set_id: int, batch: int = 5_000):
        self.session, self.prompt_set_id, self.batch = session, prompt_set_id, batch
        self.rows: list[tuple[list[ParsedPrompt], list[str]]] = []
        self.queued = 0
        self.written = 0
        self._postgres = session.get_bind().dialect.name == "postgresql"
        self._copy_cm = self._copy = self._cursor = None

    def add_batch(self, prompts: list[ParsedPrompt], splits: list[str]) -> None:
        """Queue prompts of this writer's prompt set, each with its split."""
        self.rows.append((prompts, splits))
        self.queued += len(prompts)
        if self.queued >= self.batch:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        prompts = [p for part, _ in self.rows for p in part]
        splits = [s for _, part in self.rows for s in part]
        if self._postgres:
            self._write_copy(prompts, splits)
        else:
            ps = self.prompt_set_id
            rows = [
                {
                    "prompt_set_id": ps,
                    "position": p.position,
                    "text": p.text,
                    "system": p.system,
                    "messages": p.messages,
                    "reference": p.reference,
                    "meta": p.meta,
                    "text_hash": p.text_hash,
                    "split": split,
                }
                for p, split in zip(prompts, splits, strict=True)
            ]
            self.session.execute(insert(Prompt), rows)
        self.written += len(prompts)
        self.rows.clear()
        self.queued = 0

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

    @property
    def postgres(self) -> bool:
        return self._postgres

    def write_columns(self, columns: list[list], rows: Any = None) -> None:
        """COPY rows whose columns are ready (built by the parse process; copy_columns); all of them or
        the indices in `rows`. PostgreSQL only."""
        self.flush()
        self._start_copy()
        self.written += write_rows(self._copy, columns, rows)

    def _start_copy(self) -> None:
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

    def _write_copy(self, prompts: list[ParsedPrompt], splits: list[str]) -> None:
        self._start_copy()
        hashes = [p.text_hash for p in prompts]
        write_rows(self._copy, copy_columns(self.prompt_set_id, Columns.of(prompts), splits, hashes))


def _scrub(value: Any) -> Any:
    """value with every NUL in its strings (keys too) replaced by U+FFFD."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def copy_columns(prompt_set_id: int, c: Columns, splits: list[str], hashes: list[str]) -> list[list]:
    """The COPY columns (in COLUMNS order) of some prompts of one prompt set: the JSON ones encoded."""
    metas = [_dumps(m) for m in c.metas]
    if "\\u0000" in "".join(metas):  # jsonb cannot hold NUL: store U+FFFD, as generations do
        metas = [_dumps(_scrub(m)) if "\\u0000" in j else j for m, j in zip(c.metas, metas, strict=True)]
    messages = [None if m is None else _dumps(m) for m in c.messages]
    ids = [prompt_set_id] * len(c)
    return [ids, c.positions, c.texts, c.systems, messages, c.references, metas, hashes, splits]


def write_rows(copy: Any, columns: list[list], rows: Any = None) -> int:
    """write_row each row of `columns` (all, or the indices in `rows`) into a COPY; how many."""
    it = zip(*columns, strict=True)
    if rows is not None:
        every = list(it)
        it = map(every.__getitem__, rows)
    n = 0
    for row in it:
        copy.write_row(row)
        n += 1
    return n
