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

from backend.core.db import storable
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


NULL = "\\N"


class PromptWriter:
    """Buffers rows and flushes them in batches inside the caller's transaction (so imports stay atomic)."""

    def __init__(self, session: Session, prompt_set_id: int, batch: int = 5_000):
        self.session, self.prompt_set_id, self.batch = session, prompt_set_id, batch
        self.rows: list[tuple[list[ParsedPrompt], list[str]]] = []
        self.queued = 0
        self.written = 0
        self._postgres = session.get_bind().dialect.name == "postgresql"
        # psycopg's cursor, copy() context and Copy, all set by _start_copy and cleared together; Any, as
        # the driver connection they come from is (SQLAlchemy types it so)
        self._cursor: Any = None
        self._copy_cm: Any = None
        self._copy: Any = None

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

    def write_encoded(self, lines: bytes, rows: int) -> None:
        """Send COPY lines that are ready (built by the parse process) for `rows` prompts; PostgreSQL only."""
        self.flush()
        self._start_copy()
        self._copy.write(lines)
        self.written += rows

    def _start_copy(self) -> None:
        if self._copy is None:
            # One COPY for the whole import: PostgreSQL ingests while we parse the next batch.
            raw: Any = self.session.connection().connection.driver_connection  # psycopg.Connection
            self._cursor = raw.cursor()
            from psycopg.copy import QueuedLibpqWriter

            # A writer thread feeds PostgreSQL while this thread parses and cleans the next batch.
            self._copy_cm = self._cursor.copy(
                f"COPY prompts ({', '.join(COLUMNS)}) FROM STDIN", writer=QueuedLibpqWriter(self._cursor)
            )
            self._copy = self._copy_cm.__enter__()

    def _write_copy(self, prompts: list[ParsedPrompt], splits: list[str]) -> None:
        self._start_copy()
        self._copy.write(copy_lines(self.prompt_set_id, prompts, splits))


_SPECIAL = ("\\", "\n", "\t", "\r")


def _escape_one(value: str) -> str:
    for raw, escaped in (("\\", "\\\\"), ("\n", "\\n"), ("\t", "\\t"), ("\r", "\\r")):
        if raw in value:
            value = value.replace(raw, escaped)
    return value


def _escaped(values: list[str]) -> list[str]:
    """Every value escaped for COPY's text format (backslash, newline, tab and carriage return).

    Most prompts need nothing escaped, so the whole list is scanned once for the four characters (C-level
    `in` over the joined values) and only the values that hold one are rewritten.
    """
    joined = "".join(values)
    if not any(c in joined for c in _SPECIAL):
        return values
    out = list(values)
    for i, v in enumerate(values):
        if "\\" in v or "\n" in v or "\t" in v or "\r" in v:
            out[i] = _escape_one(v)
    return out


def _column(values: list[Any], encode) -> list[str]:
    """A nullable column in COPY text: \\N for None, else encode(value), escaped as a batch."""
    nulls = values.count(None)
    if nulls == len(values):
        return [NULL] * len(values)
    if not nulls and encode is str and set(map(type, values)) == {str}:
        return _escaped(values)
    present = [i for i, v in enumerate(values) if v is not None]
    out = [NULL] * len(values)
    if present:
        for i, v in zip(present, _escaped([encode(values[i]) for i in present]), strict=True):
            out[i] = v
    return out


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def copy_lines(prompt_set_id: int, prompts: list[ParsedPrompt], splits: list[str]) -> str:
    """The rows of COPY text (in COLUMNS order) for some prompts of one prompt set."""
    return copy_columns(prompt_set_id, Columns.of(prompts), splits, [p.text_hash for p in prompts])


def copy_columns(prompt_set_id: int, c: Columns, splits: list[str], hashes: list[str]) -> str:
    """copy_lines of prompts held as Columns.

    No Python code runs per row: each column is built as a list (escaped for the whole batch at once),
    the columns are interleaved into one list by slice assignment and joined with tabs. Rows end where
    one row's split meets the next row's prompt set id: that pair is one element, "train\\n7".
    """
    n = len(c)
    if not n:
        return ""
    dumps = orjson.dumps
    metas = [dumps(m).decode() for m in c.metas]
    if "\\u0000" in "".join(metas):  # jsonb cannot hold NUL: store U+FFFD, as generations do
        metas = [_dumps(storable(m)) if "\\u0000" in j else j for m, j in zip(c.metas, metas, strict=True)]
    columns = [
        list(map(str, c.positions)),
        _escaped(c.texts),
        _column(c.systems, str),
        _column(c.messages, _dumps),
        _column(c.references, str),
        _escaped(metas),
        hashes,
    ]
    ps = str(prompt_set_id)
    first = splits[0]
    if splits.count(first) == n:
        ends = [f"{first}\n{ps}"] * n
    else:
        ends = [f"{sp}\n{ps}" for sp in splits]
    columns.append(ends)
    width = len(columns)
    flat: list[str] = [""] * (n * width)
    for i, col in enumerate(columns):
        flat[i::width] = col
    # The first row starts with the id; the last one's end is its split and a newline alone.
    flat[-1] = splits[-1] + "\n"
    return ps + "\t" + "\t".join(flat)
