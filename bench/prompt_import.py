"""Prompt import at a million rows, through the code path the API's import job uses.

Writes a JSONL of N prompts with realistic lengths (GSM8K/MATH-like, 20-200 words), 5% exact
duplicates (case and whitespace changed) and 1% near duplicates (one word changed), then imports it
into a fresh PostgreSQL database with deduplication on, and prints rows/s and peak RSS. The peer is
PostgreSQL's own COPY of the same prompt texts with no parsing, validation or deduplication, timed in
the same run: the ratio says how much of the raw database speed the platform keeps.

After it, untimed in the import's figures, the prompt_search_index job that a worker runs next (the
search table's trigram index, off the import's path): its own wall time.

Then the COPY writing alone, on the same rows (parsed, hashed and split beforehand, untimed) into the
same table, each in a transaction rolled back: the import's hand-built COPY text lines
(bulk.copy_columns, encoded, written in large chunks) against psycopg's `copy.write_row` (psycopg 3's
own adaptation, one call a row), both through the import's QueuedLibpqWriter, rounds alternating. The
difference of the two is set against the whole import's time: the share the hand-built lines save.

    .venv/bin/python bench/prompt_import.py [--rows 1000000] [--pg postgresql://postgres@127.0.0.1:5432]
        [--copy-rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORDS = [f"w{i}" for i in range(3000)] + (
    "the a of to and in is how many what if each total find compute prove that number sum product "
    "apples marbles train speed hours minutes cost dollars percent triangle circle area radius integer "
    "prime divisible remainder equation solve value probability coins dice chosen randomly"
).split()


def dataset(rows: int, seed: int = 7) -> Iterator[tuple[str, str, int]]:
    """(text, kind, source) per row: kind is "original", "exact" or "near"; source is the row a
    duplicate was made from (its own index for an original)."""
    rng = random.Random(seed)
    originals: list[tuple[str, int]] = []
    for i in range(rows):
        r = rng.random()
        if originals and r < 0.05:
            src, at = rng.choice(originals)
            text = "  " + src.upper() if rng.random() < 0.5 else src.replace(" ", "  ")
            yield text, "exact", at
        elif originals and r < 0.06:
            src, at = rng.choice(originals)
            words = src.split()
            words[rng.randrange(len(words))] = rng.choice(WORDS)
            yield " ".join(words), "near", at
        else:
            n = min(200, max(20, int(rng.lognormvariate(3.9, 0.45))))
            text = " ".join(rng.choices(WORDS, k=n)) + "?"
            if len(originals) < 50_000:
                originals.append((text, i))
            elif rng.random() < 0.05:
                originals[rng.randrange(len(originals))] = (text, i)
            yield text, "original", i


def write_dataset(path: Path, rows: int, seed: int = 7) -> dict[str, int]:
    made = {"exact": 0, "near": 0, "original": 0}
    with path.open("w") as fh:
        for i, (text, kind, _) in enumerate(dataset(rows, seed)):
            made[kind] += 1
            fh.write(json.dumps({"question": text, "answer": f"#### {i % 997}", "id": i}) + "\n")
    return {"rows": rows, "exact_duplicates_written": made["exact"], "near_duplicates_written": made["near"]}


def _fresh_db(admin: str, name: str) -> str:
    import psycopg

    with psycopg.connect(f"{admin}/postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{name}"')
    return f"{admin}/{name}"


def import_child(url: str, path: str) -> None:
    """Runs in its own process so peak RSS is the import's alone."""
    os.environ.update(
        DISTILLERY_DATABASE_URL=url,
        DISTILLERY_ENVIRONMENT="test",
        DISTILLERY_SECRET_KEY="bench-secret-key-0123456789",
    )
    from backend.core.db import session_scope
    from backend.core.migrate import upgrade_head
    from backend.projects.service import create_project
    from backend.prompts.service import import_prompt_set
    from backend.users.service import create_user

    upgrade_head()
    with session_scope() as s:
        user = create_user(s, email="bench@example.com", password="bench-password")
        project = create_project(s, owner=user, name="bench")
        pid = project.id
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    with session_scope() as s:
        from sqlalchemy import text

        from backend.projects.models import Project

        backend_pid = s.execute(text("SELECT pg_backend_pid()")).scalar_one()
        pg0 = _cpu_seconds(backend_pid)

        pset, report = import_prompt_set(
            s,
            project=s.get(Project, pid),
            user=None,
            name="bench",
            path=Path(path),
            filename="bench.jsonl",
            skip_invalid=True,
        )
        stats, pset_id = dict(pset.stats), pset.id
        pg_cpu = _cpu_seconds(backend_pid) - pg0
    elapsed = time.perf_counter() - t0
    py_cpu = time.process_time() - cpu0
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    child_cpu = kids.ru_utime + kids.ru_stime  # the parse process, when the import used one
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # What the worker does next, off the import's path: the prompt_search_index job's body.
    from backend.prompts.search import index_prompt_set

    t1 = time.perf_counter()
    indexed = index_prompt_set(pset_id)["prompts"]
    search_s = time.perf_counter() - t1
    print(
        json.dumps(
            {
                "search_seconds": search_s,
                "search_prompts": indexed,
                "seconds": elapsed,
                "stored": report.rows_stored,
                "read": report.rows_read,
                "peak_rss_mib": rss,
                "python_cpu": py_cpu,
                "child_cpu": child_cpu,
                "child_rss_mib": kids.ru_maxrss / 1024,
                "postgres_cpu": pg_cpu,
                "stats": stats,
            }
        )
    )


def _cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) a local process has used so far, from /proc; NaN if unreadable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def copy_peer(url: str, path: Path) -> float:
    """PostgreSQL COPY of the prompt texts alone: no JSON parsing, validation or dedup in Python."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as c:
        c.execute("CREATE UNLOGGED TABLE IF NOT EXISTS peer (doc jsonb)")
        c.execute("TRUNCATE peer")
    t0 = time.perf_counter()
    with psycopg.connect(url) as c, c.cursor() as cur:
        cur.execute("CREATE TEMP TABLE raw (line text)")
        with cur.copy(
            "COPY raw (line) FROM STDIN WITH (FORMAT csv, QUOTE e'\\x01', DELIMITER e'\\x02')"
        ) as cp:
            with path.open("rb") as fh:
                while chunk := fh.read(1 << 20):
                    cp.write(chunk)
        cur.execute("INSERT INTO peer SELECT line::jsonb FROM raw")
        c.commit()
    return time.perf_counter() - t0


def _prepared_rows(path: Path) -> list[tuple]:
    """(Columns, hashes, splits) per batch of 4,096 rows: what the import hands to its COPY."""
    from backend.prompts.dedup.hashing import hex_hashes
    from backend.prompts.importer import parse_columns
    from backend.prompts.pipeline import HashedRows, split_column
    from backend.prompts.report import Report
    from backend.prompts.schemas import CleaningOptions, ColumnMapping

    out = []
    for c in parse_columns(path, "jsonl", ColumnMapping(), Report(), 4096):
        hashes = hex_hashes(HashedRows.of(c.texts, c.positions).pairs)
        out.append((c, hashes, split_column(hashes, CleaningOptions())))
    return out


def _hand_lines(cp, ps: int, batches: list[tuple]) -> None:
    from backend.prompts.bulk import copy_columns

    for c, hashes, splits in batches:
        cp.write(copy_columns(ps, c, splits, hashes).encode())


def _write_rows(cp, ps: int, batches: list[tuple]) -> None:
    import orjson

    dumps = orjson.dumps
    for c, hashes, splits in batches:
        msgs = [None if m is None else dumps(m).decode() for m in c.messages]
        metas = [dumps(m).decode() for m in c.metas]
        cols = (c.positions, c.texts, c.systems, msgs, c.references, metas, hashes, splits)
        for row in zip(*cols, strict=True):
            cp.write_row((ps, *row))


def copy_writers(url: str, path: Path, rounds: int) -> dict[str, list[dict[str, float]]]:
    """Seconds and Python CPU seconds of each way of writing the same rows into `prompts`."""
    import psycopg
    from psycopg.copy import QueuedLibpqWriter

    from backend.prompts.bulk import COLUMNS

    batches = _prepared_rows(path)
    with psycopg.connect(url) as c:  # a second, empty prompt set of the same project to write into
        ps = c.execute(
            "INSERT INTO prompt_sets (project_id, name, version, source, status, frozen, prompt_count,"
            " stats, created_at) SELECT project_id, 'copy-peer', 1, source, status, frozen, 0, '{}', now()"
            " FROM prompt_sets ORDER BY id LIMIT 1 RETURNING id"
        ).fetchone()[0]
    runs: dict[str, list[dict[str, float]]] = {"hand-built lines": [], "write_row": []}
    for _ in range(rounds):
        for name, write in (("hand-built lines", _hand_lines), ("write_row", _write_rows)):
            with psycopg.connect(url) as c, c.cursor() as cur:
                t0, cpu0 = time.perf_counter(), time.process_time()
                sql = f"COPY prompts ({', '.join(COLUMNS)}) FROM STDIN"
                with cur.copy(sql, writer=QueuedLibpqWriter(cur)) as cp:
                    write(cp, ps, batches)
                runs[name].append({"seconds": time.perf_counter() - t0, "cpu": time.process_time() - cpu0})
                c.rollback()
    return runs


def print_copy(runs: dict[str, list[dict[str, float]]], rows: int, import_s: float) -> None:
    import statistics

    print(f"COPY writing alone, {rows:,} rows, {len(runs['write_row'])} rounds (median, range):")
    for name, rs in runs.items():
        s, cpu = [r["seconds"] for r in rs], [r["cpu"] for r in rs]
        print(f"  {name:<18} {statistics.median(s):6.2f}s ({min(s):.2f}-{max(s):.2f}), "
              f"Python CPU {statistics.median(cpu):.2f}s ({min(cpu):.2f}-{max(cpu):.2f})")  # fmt: skip
    pairs = list(zip(runs["hand-built lines"], runs["write_row"], strict=True))
    gain = [w["seconds"] - h["seconds"] for h, w in pairs]
    share = [g / import_s for g in gain]
    print(f"  hand-built lines save {statistics.median(gain):.2f}s a round "
          f"({min(gain):.2f}-{max(gain):.2f}): {statistics.median(share):.1%} of the whole import "
          f"({import_s:.1f}s; keep them only above 15%)")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    ap.add_argument("--copy-rounds", type=int, default=3, help="rounds of the COPY writers; 0: none")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        import_child(*args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.jsonl"
        t0 = time.perf_counter()
        made = write_dataset(path, args.rows)
        mib, secs = path.stat().st_size / 2**20, time.perf_counter() - t0
        print(
            f"wrote {args.rows:,} rows ({mib:.0f} MiB) in {secs:.1f}s: {made['exact_duplicates_written']:,} "
            f"exact and {made['near_duplicates_written']:,} near duplicates"
        )
        url = _fresh_db(args.pg, "distillery_bench")
        out = subprocess.run(
            [sys.executable, __file__, "--child", url, str(path)], capture_output=True, text=True, check=True
        )
        res = json.loads(out.stdout.strip().splitlines()[-1])
        peer = copy_peer(url, path)
        writers = copy_writers(url, path, args.copy_rounds) if args.copy_rounds else None
    rate = args.rows / res["seconds"]
    peer_rate = args.rows / peer
    print(f"{'path':<44}{'seconds':>9}{'rows/s':>11}")
    print(f"{'distillery import (parse, validate, dedup)':<44}{res['seconds']:>9.1f}{rate:>11,.0f}")
    print(f"{'peer: bare COPY + jsonb cast in PostgreSQL':<44}{peer:>9.1f}{peer_rate:>11,.0f}")
    print(f"ratio distillery/peer: {rate / peer_rate:.2f}")
    print(
        f"peak RSS of the import process: {res['peak_rss_mib']:.0f} MiB, "
        f"of its parse process: {res['child_rss_mib']:.0f} MiB"
    )
    print(
        f"CPU seconds: import process {res['python_cpu']:.1f}, its parse process {res['child_cpu']:.1f}, "
        f"its PostgreSQL backend "
        f"{res['postgres_cpu']:.1f} (wall {res['seconds']:.1f}, {os.cpu_count()} cores)"
    )
    print(
        f"then the search index job (after the import committed, off its path): "
        f"{res['search_seconds']:.1f}s for {res['search_prompts']:,} prompts "
        f"({res['search_prompts'] / res['search_seconds']:,.0f} rows/s)"
    )
    print(f"stored {res['stored']:,} of {res['read']:,}; stats: {json.dumps(res['stats'])[:400]}")
    target = rate >= 50_000 and res["peak_rss_mib"] + res["child_rss_mib"] < 1024
    print(f"target (>= 50,000 rows/s, < 1 GiB both processes together): {'met' if target else 'NOT met'}")
    if writers:
        print_copy(writers, args.rows, res["seconds"])


if __name__ == "__main__":
    main()
