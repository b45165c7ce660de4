"""Prompt text search off the import's critical path.

A pg_trgm GIN index on prompts.text would cost the import's COPY ~80 us of PostgreSQL CPU a row
(bench/RESULTS.md section 4), so prompts has none. Instead, once an import (or a derived or synthesized
version) has committed, a prompt_search_index job copies the set's prompts into prompt_search, which
carries the index, in chunks by position (the (prompt_set_id, position) unique index answers each
chunk). INSERT ... ON CONFLICT DO NOTHING makes a retried or duplicated job harmless; each chunk is its
own transaction and reports progress, which is where a cancel stops it. When the last chunk is in,
prompt_sets.search_indexed_at is set and the sample browser's `q` filter reads prompt_search; before
that, and always on SQLite, it scans prompts with the same ILIKE (the same rows, only slower).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session

from backend.core.db import connection_of, session_scope
from backend.prompts.models import PromptSet

log = logging.getLogger(__name__)

CHUNK = 20_000
KIND = "prompt_search_index"

# One chunk: the next `n` prompts of the set after position `after`, copied; answers how many prompts
# the chunk held (copied now or by an earlier try) and its last position, the next chunk's key.
_CHUNK_SQL = text(
    """
    WITH chunk AS (
        SELECT id, prompt_set_id, text, position FROM prompts
        WHERE prompt_set_id = :set_id AND position > :after
        ORDER BY position
        LIMIT :n
    ), copied AS (
        INSERT INTO prompt_search (prompt_id, prompt_set_id, text)
        SELECT id, prompt_set_id, text FROM chunk
        ON CONFLICT (prompt_id) DO NOTHING
    )
    SELECT count(*), max(position) FROM chunk
    """
)


def search_ready(session: Session | Connection, prompt_set_id: int | None) -> bool:
    """Whether `q` may read prompt_search for this set: PostgreSQL, and its indexing job finished."""
    conn = connection_of(session)
    if prompt_set_id is None or conn.dialect.name != "postgresql":
        return False
    stmt = select(PromptSet.search_indexed_at).where(PromptSet.id == prompt_set_id)
    return conn.scalar(stmt) is not None


def queue_indexing(*, project_id: int, prompt_set_id: int, user_id: int | None) -> int | None:
    """Queue the indexing job for a set whose prompts are committed; returns the job id, or None on
    SQLite (no index to fill). Call it after the transaction that wrote the prompts, never inside it.

    A failure to queue is logged and swallowed: the prompts are stored either way, and search on this
    set keeps working through the fallback scan."""
    import backend.models  # noqa: F401  (every table, for the job row's foreign keys, in any process)
    from backend.jobs.service import submit_job
    from backend.projects.models import Project

    try:
        with session_scope() as s:
            if s.get_bind().dialect.name != "postgresql":
                return None
            job = submit_job(
                s,
                project=s.get_one(Project, project_id),
                kind=KIND,
                params={"prompt_set_id": prompt_set_id},
                user_id=user_id,
            )
            return job.id
    except Exception:
        log.exception("could not queue search indexing of prompt set %s; search scans it", prompt_set_id)
        return None


def index_prompt_set(
    prompt_set_id: int, *, on_progress: Callable[[int, int], None] | None = None, chunk: int = CHUNK
) -> dict[str, int | bool]:
    """Copy a set's prompts into prompt_search, a chunk a transaction, then mark the set indexed.

    Each chunk first takes the set's row FOR KEY SHARE, so a concurrent delete of the set waits for the
    chunk (or has already won, and the job stops: {"gone": True})."""
    with session_scope() as s:
        total = s.scalar(select(PromptSet.prompt_count).where(PromptSet.id == prompt_set_id))
    if total is None:
        return {"prompts": 0, "gone": True}
    done, after, chunks = 0, -1, 0
    if on_progress:
        on_progress(0, total)
    while True:
        with session_scope() as s:
            held = s.execute(
                text("SELECT 1 FROM prompt_sets WHERE id = :id FOR KEY SHARE"), {"id": prompt_set_id}
            ).first()
            if held is None:
                return {"prompts": done, "gone": True}
            n, last = s.execute(_CHUNK_SQL, {"set_id": prompt_set_id, "after": after, "n": chunk}).one()
            if n == 0:
                s.execute(
                    text("UPDATE prompt_sets SET search_indexed_at = now() WHERE id = :id"),
                    {"id": prompt_set_id},
                )
                break
        done, after, chunks = done + n, last, chunks + 1
        if on_progress:
            on_progress(done, total)  # raises Cancelled once the job is cancelled
    log.info("prompt set %s: %d prompts indexed for search in %d chunks", prompt_set_id, done, chunks)
    return {"prompts": done, "chunks": chunks, "gone": False}
