"""The worker's side of the teacher logprob cache (backend/datasets/logprobs.py is the format): the
teacher's tokenizer hashes the cache is tied to, shared by the rollout (its part files) and the score
stage; the rollout's part writer; the snapshot's gathering of the kept examples' rows."""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

from backend.core.config import get_settings
from backend.datasets.logprobs import (
    FILE,
    CacheMeta,
    TokenLogprobs,
    gather,
    part_files,
    parts_folder,
    read_meta,
    table,
    write_atomic,
)
from backend.training.vocab import template_hash, vocab_hash

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=8)
def tokenizer_hashes(model: str) -> tuple[str, str]:
    """(vocab hash, template hash) of the teacher's tokenizer; ("", "") where no tokenizer is at hand (an
    API teacher's model name is no loadable tokenizer: the cache then says so by its empty hash)."""
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(model)
    except Exception as exc:  # noqa: BLE001 - an API model name, a hub id not in the offline cache
        log.info(
            "no tokenizer for %r (%s): the logprob cache carries no tokenizer hash", model, type(exc).__name__
        )
        return "", ""
    return vocab_hash(tok), template_hash(tok)


def teacher_meta(model: str, k: int, source: str) -> CacheMeta:
    vocab, template = tokenizer_hashes(model)
    return CacheMeta(k=k, tokenizer_hash=vocab, template_hash=template, teacher=model, source=source)


def write_part(
    run_id: int, chunk_id: int, rows: list[tuple[int, TokenLogprobs]], meta: CacheMeta
) -> Path | None:
    """One flush's rows as a part file of the run, named by its chunk and first generation id: written
    before the flush commits, so every committed generation has its row (a rolled-back flush leaves
    rows no generation joins, which the snapshot never reads); a re-run writing the same rows replaces
    the file."""
    if not rows:
        return None
    first = min(gid for gid, _ in rows)
    path = parts_folder(get_settings().data_dir, run_id) / f"part-{chunk_id:08d}-{first:012d}.parquet"
    write_atomic(path, table(sorted(rows, key=lambda r: r[0]), meta))
    return path


def gather_logprobs(run_id: int, kept: set[int], folder: Path) -> dict[str, Any] | None:
    """The kept examples' teacher logprobs from the rollout's part files into the snapshot's
    teacher_logprobs.parquet, streamed a part at a time; None where the rollout captured none."""
    parts = part_files(parts_folder(get_settings().data_dir, run_id))
    if not parts or not kept:
        return None
    meta = read_meta(parts[0])  # one teacher and K per run: every part carries the same
    rows = gather(parts, kept, folder / FILE, meta)
    if not rows:  # the kept attempts came from the response cache or an earlier rollout: none to give
        (folder / FILE).unlink()
        return None
    return {**meta.as_dict(), "rows": rows}
