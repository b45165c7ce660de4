"""The sample browser's page latency with 1,000,000 generations in one run (issue 14).

Seeds (once; --reuse keeps the database) a run of --generations attempts, a few KB each (reasoning +
answer), --attempts per prompt, with COPY: prompts with real words (a common and a rare search term),
a math verdict per attempt (pass / fail / undecided), a judge verdict with a score on a 0-10 scale in
steps of 0.5 (ties everywhere), finish reasons (5 % length) and the run's decision (accepted).
The prompts' search copy (prompt_search, migration 0015) is filled by the prompt_search_index job's
body; --reuse first brings an older seed to head and fills it the same way if its set is not indexed.

Then times pages of --limit through the real API (`distillery serve`, uvicorn, httpx from this process)
for each filter at three depths: first page, a middle page (cursor after the middle id: generation ids
are positions here), the last page (last=true). Each is asked --reps times after one warm-up.

  in-process: the same app called in this process through httpx's ASGI transport (no HTTP hop, no
        second process to schedule), and its CPU time per page (all threads of this process: the API's
        work plus httpx's, whatever the machine's load; wall time on a busy machine is mostly waiting).
  peer: the same filter as one bare SQL SELECT (psycopg, same indexes, same page size, same depth):
        what the database alone costs. ours / peer says what the API adds (HTTP, auth, role check,
        ORM rows, the judge scores and prompt previews of the page, JSON).
Target: ours p95 < 50 ms for every row.

    nice -n 10 env PYTHONPATH=$PWD .venv/bin/python bench/browse_latency.py [--generations 1000000]
        [--attempts 4] [--limit 50] [--reps 20] [--reuse]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import PG, fresh_db  # noqa: E402

DB = "distillery_bench_browse"
RUN_NAME = "browse-bench"
COMMON, RARE = "integral", "zeppelin"  # in ~1/3 and ~1/1000 of prompts
PORT = 8731


def _env(url: str) -> dict[str, str]:
    return {
        "DISTILLERY_DATABASE_URL": url,
        "DISTILLERY_ENVIRONMENT": "test",
        "DISTILLERY_SECRET_KEY": "bench-secret-key-0123456789",
        "DISTILLERY_LOG_LEVEL": "WARNING",
        "DISTILLERY_DATA_DIR": tempfile.mkdtemp(prefix="distillery-bench-"),
    }


def _words(rng: random.Random, n: int) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choices(letters, k=rng.randint(3, 9))) for _ in range(n)]


def _esc(s: str) -> str:
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def seed(generations: int, attempts: int) -> None:
    url = fresh_db(DB)
    os.environ.update(_env(url))
    from backend.core.db import get_engine, session_scope
    from backend.core.migrate import upgrade_head
    from backend.projects.service import create_project
    from backend.prompts.models import PromptSet
    from backend.runs.models import Run, Status
    from backend.users.service import create_user

    upgrade_head()
    prompts = generations // attempts
    with session_scope() as s:
        user = create_user(s, email="bench@example.com", password="bench-password")
        project = create_project(s, owner=user, name="bench")
        pset = PromptSet(project_id=project.id, name="browse", prompt_count=prompts, status="ready")
        s.add(pset)
        s.flush()
        recipe = {"prompt_set_id": pset.id, "stages": ["rollout", "filter"]}
        run = Run(project_id=project.id, name=RUN_NAME, recipe=recipe, prompt_set_id=pset.id)
        run.status = Status.succeeded
        s.add(run)
        s.flush()
        pset_id, run_id = pset.id, run.id
    rng = random.Random(14)
    vocab = _words(rng, 3000)
    # A pool of reasoning texts (~2.5 KB of words each); every row also gets its own first line.
    pool = [" ".join(rng.choices(vocab, k=380)) for _ in range(997)]
    t0 = time.perf_counter()
    raw = get_engine().raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("SET synchronous_commit = off")
        # COPY into bare tables, then build the indexes once (what a bulk load does; the definitions are
        # the migrations', read back from the catalogue).
        cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN "
            "('prompts', 'prompt_search', 'generations', 'verdicts') AND indexname LIKE 'ix%'"
        )
        indexes = cur.fetchall()
        for name, _ in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        with cur.copy("COPY prompts (id, prompt_set_id, position, text, reference, meta, text_hash, split) FROM STDIN") as cp:  # fmt: skip  # noqa: E501
            buf = []
            for p in range(prompts):
                words = rng.choices(vocab, k=30)
                if p % 3 == 0:
                    words[rng.randrange(30)] = COMMON
                if p % 1000 == 7:
                    words[rng.randrange(30)] = RARE
                text = f"Problem {p}: " + " ".join(words) + f" Compute $x^{{{p % 97}}}$."
                buf.append(f"{p + 1}\t{pset_id}\t{p}\t{_esc(text)}\t{p % 1000}\t{{}}\t{p:032x}\ttrain\n")
                if len(buf) >= 5000:
                    cp.write("".join(buf))
                    buf.clear()
            cp.write("".join(buf))
        print(f"prompts: {prompts:,} in {time.perf_counter() - t0:.0f} s", flush=True)
        cols = "id, run_id, prompt_id, attempt, status, reasoning, content, finish_reason, prompt_tokens, completion_tokens, latency_ms, from_cache, accepted, created_at"  # noqa: E501
        math = np.random.default_rng(1).choice([1, 0, 2], size=generations, p=[0.55, 0.35, 0.10])
        scores = np.random.default_rng(2).integers(0, 21, size=generations) / 2
        finish = np.random.default_rng(3).random(generations) < 0.05
        t1 = time.perf_counter()
        with cur.copy(f"COPY generations ({cols}) FROM STDIN") as cp:
            buf = []
            for i in range(generations):
                acc = ("t", "f", "\\N")[[1, 0, 2].index(math[i])]
                reasoning = f"Attempt {i}: let me think. " + pool[i % len(pool)]
                content = f"The answer is \\\\boxed{{{i % 1000}}}."
                fr = "length" if finish[i] else "stop"
                buf.append(
                    f"{i + 1}\t{run_id}\t{i // attempts + 1}\t{i % attempts}\tok\t{reasoning}\t{content}"
                    f"\t{fr}"
                    f"\t120\t900\t1500\tf\t{acc}\t2026-12-01 00:00:00+00\n"
                )
                if len(buf) >= 5000:
                    cp.write("".join(buf))
                    buf.clear()
                    if i % 200_000 < 5000:
                        print(f"  generations {i:,} ({time.perf_counter() - t1:.0f} s)", flush=True)
            cp.write("".join(buf))
        print(f"generations: {generations:,} in {time.perf_counter() - t1:.0f} s", flush=True)
        t2 = time.perf_counter()
        vcols = "run_id, generation_id, verifier, verifier_version, status, passed, score, detail, duration_ms, created_at"  # noqa: E501
        with cur.copy(f"COPY verdicts ({vcols}) FROM STDIN") as cp:
            buf = []
            for i in range(generations):
                m = math[i]
                st, passed = (("passed", "t"), ("wrong", "f"), ("timeout", "\\N"))[[1, 0, 2].index(m)]
                buf.append(
                    f"{run_id}\t{i + 1}\tmath\t1\t{st}\t{passed}\t\\N\t{{}}\t1.5\t2026-12-01 00:00:00+00\n"
                )
                sc = scores[i]
                jst, jp = ("passed", "t") if sc >= 7 else (("wrong", "f") if sc < 4 else ("unsure", "\\N"))
                detail = '{"rationale": "The steps follow and the final answer matches."}'
                buf.append(
                    f"{run_id}\t{i + 1}\tjudge\tr1\t{jst}\t{jp}\t{sc}\t{detail}\t800"
                    "\t2026-12-01 00:00:00+00\n"
                )
                if len(buf) >= 10000:
                    cp.write("".join(buf))
                    buf.clear()
            cp.write("".join(buf))
        print(f"verdicts: {2 * generations:,} in {time.perf_counter() - t2:.0f} s", flush=True)
        raw.commit()  # the search job below reads the prompts through a connection of its own
        t_s = time.perf_counter()
        from backend.prompts.search import index_prompt_set

        n = index_prompt_set(pset_id)["prompts"]  # the prompt_search_index job's body
        print(f"prompt_search: {n:,} (the job, before its index) in {time.perf_counter() - t_s:.0f} s")
        t_ix = time.perf_counter()
        cur.execute("SET maintenance_work_mem = '512MB'")
        for _, ddl in indexes:
            cur.execute(ddl)
        print(f"indexes: {len(indexes)} in {time.perf_counter() - t_ix:.0f} s", flush=True)
        cur.execute("SELECT setval(pg_get_serial_sequence('prompts', 'id'), %s)", (prompts,))
        cur.execute("SELECT setval(pg_get_serial_sequence('generations', 'id'), %s)", (generations,))
        raw.commit()
    finally:
        raw.close()
    import psycopg

    t3 = time.perf_counter()
    with psycopg.connect(f"{PG}/{DB}", autocommit=True) as c:
        c.execute("VACUUM ANALYZE prompts")
        c.execute("VACUUM ANALYZE prompt_search")
        c.execute("VACUUM ANALYZE generations")
        c.execute("VACUUM ANALYZE verdicts")
    print(f"vacuum analyze: {time.perf_counter() - t3:.0f} s; seeded in {time.perf_counter() - t0:.0f} s")


def upgrade_reused() -> None:
    """--reuse: bring a database seeded at an older schema to head (0015 moves the prompt-text index
    to prompt_search), then, if its set is not indexed yet, fill prompt_search with the job's body,
    timed with the trigram index in place: what a worker spends after importing this set."""
    import psycopg

    url = f"{PG}/{DB}"
    os.environ.update(_env(url))
    with psycopg.connect(url, autocommit=True) as c:
        version = c.execute("SELECT version_num FROM alembic_version").fetchone()[0]
        early = c.execute(
            "SELECT 1 FROM pg_indexes WHERE indexname = 'ix_generations_run_accepted'"
        ).fetchone()
        if version == "0012" and early:  # seeded on the branch where the browse indexes were 0012 (now 0013)
            c.execute("UPDATE alembic_version SET version_num = '0013'")
    from backend.core.db import session_scope
    from backend.core.migrate import upgrade_head
    from backend.prompts.models import PromptSet
    from backend.prompts.search import index_prompt_set

    upgrade_head()
    pset = _ids()[2]
    with session_scope() as s:
        ready = s.get(PromptSet, pset).search_indexed_at is not None
    if not ready:
        t0 = time.perf_counter()
        n = index_prompt_set(pset)["prompts"]
        print(f"prompt_search: {n:,} prompts by the indexing job in {time.perf_counter() - t0:.0f} s")
        with psycopg.connect(url, autocommit=True) as c:
            c.execute("VACUUM ANALYZE prompt_search")


def _ids() -> tuple[int, int, int, int]:
    import psycopg

    with psycopg.connect(f"{PG}/{DB}") as c:
        run_id, pid, pset = c.execute(
            "SELECT id, project_id, prompt_set_id FROM runs WHERE name = %s", (RUN_NAME,)
        ).fetchone()
        n = c.execute("SELECT max(id) FROM generations WHERE run_id = %s", (run_id,)).fetchone()[0]
    return run_id, pid, pset, n


# name, API query params, the peer's extra SQL condition (and its parameters)
SUB_V = "id IN (SELECT generation_id FROM verdicts WHERE run_id = %(run)s AND verifier = "
FILTERS: list[tuple[str, dict, str]] = [
    ("none", {}, "TRUE"),
    ("verdict=accepted", {"verdict": "accepted"}, "accepted IS TRUE"),
    ("verdict=rejected", {"verdict": "rejected"}, "accepted IS FALSE"),
    ("verdict=unverified", {"verdict": "unverified"}, "accepted IS NULL"),
    (
        "verifier=math pass",
        {"verifier": "math", "verifier_result": "pass"},
        SUB_V + "'math' AND passed IS TRUE)",
    ),
    (
        "verifier=math fail",
        {"verifier": "math", "verifier_result": "fail"},
        SUB_V + "'math' AND passed IS FALSE)",
    ),
    ("judge score 7-8", {"score_min": 7, "score_max": 8}, SUB_V + "'judge' AND score >= 7 AND score <= 8)"),
    ("judge score = 10", {"score_min": 10}, SUB_V + "'judge' AND score >= 10)"),
    (
        f"prompt ~ {COMMON}",
        {"q": COMMON},
        "prompt_id IN (SELECT prompt_id FROM prompt_search WHERE prompt_set_id = %(pset)s AND text ILIKE '%%"
        + COMMON
        + "%%')",
    ),
    (
        f"prompt ~ {RARE}",
        {"q": RARE},
        "prompt_id IN (SELECT prompt_id FROM prompt_search WHERE prompt_set_id = %(pset)s AND text ILIKE '%%"
        + RARE
        + "%%')",
    ),
    ("finish=length", {"finish_reason": "length"}, "finish_reason = 'length'"),
]


def _p(xs: list[float], q: float) -> float:
    return float(np.percentile(np.array(xs) * 1000, q))


def measure(limit: int, reps: int) -> list[dict]:
    import httpx
    import psycopg

    from backend.core.processes import spawn, stop, wait_healthy
    from backend.samples.service import encode

    url = f"{PG}/{DB}"
    os.environ.update(_env(url))
    run_id, pid, pset, n = _ids()
    from backend.core.db import session_scope
    from backend.users.models import User
    from backend.users.service import issue_token

    with session_scope() as s:
        user = s.query(User).filter(User.email == "bench@example.com").one()
        _, token = issue_token(s, user=user, kind="personal", name="bench", ttl=None)
    log = Path(tempfile.mkdtemp(prefix="distillery-bench-")) / "api.log"
    env = {**_env(url), "DISTILLERY_LOG_LEVEL": "WARNING"}
    cmd = [sys.executable, "-m", "backend.cli", "serve", "--port", str(PORT), "--no-migrate"]
    api = spawn(cmd, env=env, cwd=Path(__file__).resolve().parents[1], log_path=log)
    rows = []
    try:
        wait_healthy(f"http://127.0.0.1:{PORT}/api/health", api, timeout=60, name="the api", log_path=log)
        http = httpx.Client(
            base_url=f"http://127.0.0.1:{PORT}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
            trust_env=False,
        )
        db = psycopg.connect(url, autocommit=True)
        # The same app in this process through httpx's ASGI transport: the API's own cost without the
        # HTTP hop and the scheduling of a second process on a shared machine.
        import asyncio

        from backend.main import create_app

        loop = asyncio.new_event_loop()
        asgi = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app()),
            base_url="http://asgi",
            headers={"Authorization": f"Bearer {token}"},
        )
        base = f"/api/projects/{pid}/runs/{run_id}/generations"
        # The floor: the same stack (auth, role check, the run) answering GET run, with no page to read.
        floor, floor_cpu = [], []
        for rep in range(reps + 1):
            t0 = time.perf_counter()
            assert http.get(f"/api/projects/{pid}/runs/{run_id}").status_code == 200
            dt = time.perf_counter() - t0
            c0 = time.process_time()
            loop.run_until_complete(asgi.get(f"/api/projects/{pid}/runs/{run_id}"))
            if rep:
                floor.append(dt)
                floor_cpu.append(time.process_time() - c0)
        print(
            f"| GET run (no page: the floor) | - | - | {_p(floor, 50):.1f} | {_p(floor, 95):.1f} | - | - | "
            f"{np.mean(floor_cpu) * 1000:.1f} | - | - | - |",
            flush=True,
        )
        depths = {"first": {}, "middle": {"cursor": encode(True, n // 2)}, "last": {"last": "true"}}
        for name, params, cond in FILTERS:
            for depth, extra in depths.items():
                ours, inproc, cpu, peer, count = [], [], [], [], 0
                for rep in range(reps + 1):
                    t0 = time.perf_counter()
                    r = http.get(base, params={**params, **extra, "limit": limit, "reasoning": "false"})
                    dt = time.perf_counter() - t0
                    assert r.status_code == 200, r.text
                    count = len(r.json()["items"])
                    t2, c2 = time.perf_counter(), time.process_time()
                    ra = loop.run_until_complete(
                        asgi.get(base, params={**params, **extra, "limit": limit, "reasoning": "false"})
                    )
                    di, dc = time.perf_counter() - t2, time.process_time() - c2
                    assert ra.status_code == 200 and len(ra.json()["items"]) == count, ra.text
                    if depth == "first":
                        where, order = "id > 0", "id"
                    elif depth == "middle":
                        where, order = f"id > {n // 2}", "id"
                    else:
                        where, order = f"id < {2**63 - 1}", "id DESC"
                    inner = cond.replace(
                        "run_id = %(run)s AND", f"run_id = %(run)s AND generation_{where} AND"
                    )
                    sql = (
                        f"SELECT * FROM generations WHERE run_id = %(run)s AND {where} AND {inner} "
                        f"ORDER BY {order} LIMIT {limit + 1}"
                    )
                    t1 = time.perf_counter()
                    db.execute(sql, {"run": run_id, "pset": pset}).fetchall()
                    dp = time.perf_counter() - t1
                    if rep:  # the first is the warm-up
                        ours.append(dt)
                        inproc.append(di)
                        cpu.append(dc)
                        peer.append(dp)
                row = {
                    "filter": name,
                    "depth": depth,
                    "items": count,
                    "ours_p50": _p(ours, 50),
                    "ours_p95": _p(ours, 95),
                    "asgi_p50": _p(inproc, 50),
                    "asgi_p95": _p(inproc, 95),
                    "cpu_mean": float(np.mean(cpu) * 1000),
                    "peer_p50": _p(peer, 50),
                    "peer_p95": _p(peer, 95),
                }
                row["ratio"] = row["ours_p95"] / row["peer_p95"]
                rows.append(row)
                print(
                    f"| {name} | {depth} | {count} | {row['ours_p50']:.1f} | {row['ours_p95']:.1f} | "
                    f"{row['asgi_p50']:.1f} | {row['asgi_p95']:.1f} | {row['cpu_mean']:.1f} | "
                    f"{row['peer_p50']:.1f} | {row['peer_p95']:.1f} | {row['ratio']:.1f}x |",
                    flush=True,
                )
    finally:
        stop(api)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--generations", type=int, default=1_000_000)
    ap.add_argument("--attempts", type=int, default=4)
    ap.add_argument("--limit", type=int, default=50)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--reuse", action="store_true", help="keep the seeded database of an earlier run")
    ap.add_argument("--seed-only", action="store_true")
    args = ap.parse_args()
    if not args.reuse:
        seed(args.generations, args.attempts)
    else:
        upgrade_reused()
    if args.seed_only:
        return 0
    print(f"\npages of {args.limit}, {args.reps} requests each after a warm-up; ms")
    print(
        "| filter | page | items | ours p50 | ours p95 | in-process p50 | in-process p95 | in-process CPU "
        "| peer p50 | peer p95 | ours/peer p95 |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    rows = measure(args.limit, args.reps)
    worst = max(rows, key=lambda r: r["ours_p95"])
    ok = worst["ours_p95"] < 50
    where = f"{worst['filter']}, {worst['depth']}"
    print(
        f"\nworst ours p95: {worst['ours_p95']:.1f} ms ({where}); target < 50 ms: "
        + ("met" if ok else "NOT met")
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
