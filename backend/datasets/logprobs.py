"""The teacher logprob cache: its one format, shared by the writers (the rollout's part files, the
snapshot's gathered file, the score stage) and the readers (the kd train method, the card, the API).

A snapshot's cache is `teacher_logprobs.parquet` beside its train files: one row per trained example,
`generation_id` (int64), `token_ids` (list<int32>: the teacher's completion tokens), `top_ids`
(list<list<int32>>: per token, the K most likely ids, logprob descending) and `top_logprobs`
(list<list<float16>>: natural log), with schema metadata `distillery.k`, `.tokenizer_hash`,
`.template_hash`, `.teacher` and `.source` ("rollout" or "score"). The rollout writes the same rows as
part files under DATA_DIR/runs/<run>/logprobs/ (never PostgreSQL rows); the snapshot gathers the kept
examples' rows from them a part at a time. Float16 and int32 keep it small: K=20 costs about 120 bytes a
token.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

FILE = "teacher_logprobs.parquet"
MAX_K = 20  # vLLM's default max_logprobs; a server must be started with more to answer more
SCHEMA = pa.schema(
    [
        ("generation_id", pa.int64()),
        ("token_ids", pa.list_(pa.int32())),
        ("top_ids", pa.list_(pa.list_(pa.int32()))),
        ("top_logprobs", pa.list_(pa.list_(pa.float16()))),
    ]
)
META_KEYS = ("k", "tokenizer_hash", "template_hash", "teacher", "source")


@dataclass
class TokenLogprobs:
    """One completion's tokens and, per token, its K best alternatives (descending)."""

    token_ids: list[int]
    top_ids: list[list[int]]
    top_logprobs: list[list[float]]


@dataclass(frozen=True)
class CacheMeta:
    k: int
    tokenizer_hash: str
    template_hash: str
    teacher: str
    source: str  # rollout | score

    def schema(self) -> pa.Schema:
        return SCHEMA.with_metadata(
            {f"distillery.{k}".encode(): str(v).encode() for k, v in self.as_dict().items()}
        )

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in META_KEYS}


def read_meta(path: Path) -> CacheMeta:
    """The metadata a cache file (or a part) carries."""
    raw = pq.read_schema(path).metadata or {}
    got = {k.decode().removeprefix("distillery."): v.decode() for k, v in raw.items()}
    return CacheMeta(
        int(got["k"]), got["tokenizer_hash"], got["template_hash"], got["teacher"], got["source"]
    )


def table(rows: Iterable[tuple[int, TokenLogprobs]], meta: CacheMeta) -> pa.Table:
    """(generation id, its logprobs) rows as the cache's table; a row with more than K alternatives a
    token is cut to K (an endpoint may answer more than it was asked)."""
    gids, tokens, top_ids, top_lps = [], [], [], []
    for gid, lp in rows:
        gids.append(gid)
        tokens.append(lp.token_ids)
        top_ids.append([ids[: meta.k] for ids in lp.top_ids])
        top_lps.append([lps[: meta.k] for lps in lp.top_logprobs])
    arrays = [
        pa.array(gids, pa.int64()),
        pa.array(tokens, pa.list_(pa.int32())),
        pa.array(top_ids, pa.list_(pa.list_(pa.int32()))),
        # through float32: pyarrow casts Python floats to half only from a float array
        pa.array(top_lps, pa.list_(pa.list_(pa.float32()))).cast(pa.list_(pa.list_(pa.float16()))),
    ]
    return pa.Table.from_arrays(arrays, schema=meta.schema())


def write_atomic(path: Path, data: pa.Table) -> None:
    """Write the file whole or not at all: a re-run replaces it, a killed writer leaves only a temp."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    pq.write_table(data, tmp)
    os.replace(tmp, path)


def parts_folder(data_dir: Path, run_id: int) -> Path:
    """Where a rollout writes its part files."""
    return data_dir / "runs" / str(run_id) / "logprobs"


def part_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("part-*.parquet")) if folder.is_dir() else []


def gather(parts: list[Path], keep: set[int], out: Path, meta: CacheMeta) -> int:
    """The kept generations' rows of the parts into `out`, one part at a time (a whole run's logprobs
    never sit in memory); a generation found in two parts (a re-run chunk) is written once. Returns the
    rows written."""
    wanted = pa.array(sorted(keep), pa.int64())
    seen: set[int] = set()
    rows = 0
    with pq.ParquetWriter(out, meta.schema()) as writer:
        for part in parts:
            for batch in pq.ParquetFile(part).iter_batches(batch_size=256):
                t = pa.Table.from_batches([batch]).filter(pc.is_in(batch.column("generation_id"), wanted))
                if not t.num_rows:
                    continue
                ids = t.column("generation_id").to_pylist()
                fresh = [i for i, g in enumerate(ids) if g not in seen]
                seen.update(ids)
                if len(fresh) < len(ids):
                    t = t.take(pa.array(fresh, pa.int64()))
                writer.write_table(t.cast(meta.schema()))
                rows += t.num_rows
    return rows


def iter_rows(path: Path) -> Iterator[dict[str, Any]]:
    """A cache file's rows as dicts, a batch at a time (for checks and small readers)."""
    for batch in pq.ParquetFile(path).iter_batches(batch_size=256):
        yield from batch.to_pylist()


def card_line(info: dict[str, Any] | None) -> str | None:
    """The dataset card's line about the cache; None when the snapshot has none."""
    if not info:
        return None
    return (
        f"- teacher logprobs: top-{info['k']} per token for {info['rows']} rows (`{FILE}`), teacher "
        f"`{info['teacher']}`, tokenizer hash `{info['tokenizer_hash'][:12]}`, source {info['source']}"
    )
