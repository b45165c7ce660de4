"""A million generations, measured (issue 27 item 5): rollout -> filter -> snapshot on PostgreSQL.

A throw-away PostgreSQL database (dropped after, unless --keep), a project, a prompt set of N/attempts
math problems with references (tests/fakes/math_teacher.py: integers, fractions, symbolic answers,
long polynomials), the project's fake teacher answering them instantly (`--math`: ~2 KB of chain of
thought and a boxed answer per attempt, right, wrong or missing), real Celery worker processes on the
cpu queue, and one recipe rollout -> filter (the math verifier: its cheap tier, then math-verify) ->
snapshot. While each stage runs, the peak RSS of every process is sampled (psutil: the worker's main
process, its task processes, the verifier pool under them, the fake server, this process). Then, in the
same run and over the same data, each stage's peer:
  rollout:  the bare client loop (bench/peers/client_loop.py's `ours`) over the same conversations in
            chunks of the rollout's chunk size, in a process of its own, nothing stored;
  filter:   verify_many alone over the same stored answers, batch by batch (only its calls timed);
  snapshot: a bare COPY of the accepted rows to one Parquet file with pyarrow (each row once, six
            columns; the stage writes each kept row four times, JSONL and Parquet of two configs, plus
            the preference pairs: the report gives the ratio per row and per byte written).
Ratio = stage throughput / peer throughput. Targets: each ratio >= 0.8, every process under 2 GiB,
nothing lost or duplicated (generations = prompts x attempts, unique; a verdict per generation;
snapshot rows = the accepted attempts selection kept). Prints a markdown table.

    PYTHONPATH=$PWD .venv/bin/python bench/pipeline_scale.py [--generations 1000000] [--attempts 4]
        [--broker redis://127.0.0.1:6379/13] [--worker-concurrency 1] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import PG, fresh_db  # noqa: E402
from tests.fakes.math_teacher import problem  # noqa: E402

DB = "distillery_bench_scale"
STAGES = ("rollout", "filter", "snapshot")
GIB = 1 << 30


class RssSampler(threading.Thread):
    """Peak RSS per (stage, process role), sampled every `every_s` while `stage` names the stage."""

    def __init__(self, roots: dict[str, int], every_s: float = 0.5):
        super().__init__(daemon=True)
        self.roots, self.every_s, self.stage = roots, every_s, "setup"
        self.peak: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.stop = threading.Event()

    def _roles(self):
        import psutil

        for role, pid in self.roots.items():
            try:
                root = psutil.Process(pid)
                yield role, root
                if role == "bench":  # its children are the worker and the server, counted as such
                    continue
                for child in root.children(recursive=True):
                    depth = 1 if child.ppid() == pid else 2
                    yield f"{role} {'task process' if depth == 1 else 'helper (verifier pool)'}", child
            except psutil.Error:
                continue

    def run(self) -> None:
        import psutil

        while not self.stop.wait(self.every_s):
            for role, proc in self._roles():
                try:
                    rss = proc.memory_info().rss
                except psutil.Error:
                    continue
                peak = self.peak[self.stage]
                peak[role] = max(peak[role], rss)


def setup(args, data: Path) -> dict:
    from backend.core.db import session_scope
    from backend.core.migrate import upgrade_head
    from backend.projects.service import create_project
    from backend.prompts.schemas import CleaningOptions
    from backend.prompts.service import import_prompt_set
    from backend.users.service import create_user

    upgrade_head()
    src = data / "prompts.jsonl"
    with src.open("w") as fh:
        for i in range(args.generations // args.attempts):
            text, ref, _ = problem(i)
            fh.write(json.dumps({"prompt": text, "reference": ref}) + "\n")
    with session_scope() as s:
        user = create_user(s, email="bench@example.com", password="bench-password")
        project = create_project(s, owner=user, name="bench")
        pset, _ = import_prompt_set(s, project=project, user=None, name="math", path=src, filename=src.name,
                                    options=CleaningOptions(near_dup_threshold=None))  # fmt: skip
        return {"project_id": project.id, "prompt_set_id": pset.id, "prompts": pset.prompt_count}


def start_run(ids: dict, base: str, args) -> int:
    from backend.core.db import session_scope
    from backend.projects.models import Project
    from backend.runs.lifecycle import enqueue_next_stage
    from backend.runs.schemas import RunCreate
    from backend.runs.service import create_run
    from backend.teachers.schemas import TeacherCreate
    from backend.teachers.service import create_teacher

    with session_scope() as s:
        project = s.get(Project, ids["project_id"])
        teacher = create_teacher(s, project=project, data=TeacherCreate(
            name="fake", backend="openai_compat", model="fake-teacher", base_url=f"{base}/v1"))  # fmt: skip
        recipe = {
            "prompt_set_id": ids["prompt_set_id"],
            "teacher_id": teacher.id,
            "stages": list(STAGES),
            "rollout": {
                "n": args.attempts,
                "split": "all",
                "use_cache": False,
                "chunk_size": args.chunk_size,
                "concurrency": args.concurrency,
            },  # fmt: skip
            "filter": {"verifiers": {"verifiers": [{"name": "math"}]}, "batch": args.filter_batch},
            "snapshot": {},
        }
        run = create_run(s, project=project, user=None, data=RunCreate(name="scale", recipe=recipe))
        enqueue_next_stage(s, run=run)
        return run.id


def follow(run_id: int, sampler: RssSampler) -> dict:
    """Wait for the run, telling the sampler which stage runs; each stage's seconds, start to finish."""
    from backend.core.db import session_scope
    from backend.runs.lifecycle import stages_of
    from backend.runs.models import Run

    while True:
        time.sleep(0.5)
        with session_scope() as s:
            run = s.get_one(Run, run_id)
            stages = stages_of(s, run=run)
            running = [st.kind for st in stages if st.status.value == "running"]
            if running:
                sampler.stage = running[0]
            if run.status.finished:
                out = {"status": run.status.value, "error": run.error}
                for st in stages:
                    seconds = (st.finished_at - st.started_at).total_seconds() if st.finished_at else None
                    out[st.kind] = {
                        "seconds": seconds,
                        "status": st.status.value,
                        "metrics": dict(st.metrics),
                    }
                return out


def counts(run_id: int) -> dict:
    from sqlalchemy import text

    from backend.core.db import session_scope

    q = {
        "generations": "SELECT count(*) FROM generations WHERE run_id = :r",
        "unique": "SELECT count(DISTINCT (prompt_id, attempt)) FROM generations WHERE run_id = :r",
        "ok": "SELECT count(*) FROM generations WHERE run_id = :r AND status = 'ok'",
        "verdicts": "SELECT count(*) FROM verdicts WHERE run_id = :r AND verifier = 'math'",
        "verdicts_unique": "SELECT count(DISTINCT generation_id) FROM verdicts "
        "WHERE run_id = :r AND verifier = 'math'",
        "accepted": "SELECT count(*) FROM generations WHERE run_id = :r AND accepted",
        "db_bytes": "SELECT pg_database_size(current_database())",
        "generations_bytes": "SELECT pg_total_relation_size('generations')",
        "verdicts_bytes": "SELECT pg_total_relation_size('verdicts')",
    }  # fmt: skip
    with session_scope() as s:
        return {k: s.scalar(text(sql), {"r": run_id}) for k, sql in q.items()}


def peer_client(base: str, prompts: int, attempts: int, concurrency: int, chunk: int) -> dict:
    """The rollout's peer, in a process of its own: the bare client loop, chunk by chunk."""
    out = subprocess.run(
        [sys.executable, __file__, "--peer-client", base, str(prompts), str(attempts), str(concurrency),
         str(chunk)],  # fmt: skip
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def _client_loop(base: str, prompts: int, attempts: int, concurrency: int, chunk: int) -> None:
    import resource

    from bench.peers.client_loop import ours

    async def go() -> int:
        done = 0
        for first in range(0, prompts, chunk):
            convs = [
                [{"role": "user", "content": problem(i)[0]}]
                for i in range(first, min(first + chunk, prompts))
            ]
            done += sum(c.ok for group in await ours(base, convs, concurrency, attempts) for c in group)
        return done

    t0 = time.perf_counter()
    done = asyncio.run(go())
    seconds = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": seconds, "completions": done, "peak_rss": rss}))


def _raw(url: str):
    import psycopg

    return psycopg.connect(url)


def peer_verify(url: str, run_id: int, batch: int) -> dict:
    """verify_many alone over the stored answers, a batch at a time; only its calls are timed."""
    from backend.verifiers.registry import VerifierCombo
    from workers.verifiers.pool import shared_pool
    from workers.verifiers.verdict import Item
    from workers.verifiers.verify import verify_many

    combo = VerifierCombo(verifiers=[{"name": "math"}])
    shared_pool()  # warm, as the worker's is
    seconds, n = 0.0, 0
    with _raw(url) as conn, conn.cursor(name="answers") as cur:
        cur.execute("SELECT g.content, g.reasoning, g.finish_reason, p.reference FROM generations g "
                    "JOIN prompts p ON p.id = g.prompt_id WHERE g.run_id = %s AND g.status = 'ok' "
                    "ORDER BY g.id", (run_id,))  # fmt: skip
        while rows := cur.fetchmany(batch):
            items = [
                Item(completion=c or "", reasoning=r, finish_reason=f, reference=ref) for c, r, f, ref in rows
            ]
            t0 = time.perf_counter()
            verify_many(combo, items)
            seconds += time.perf_counter() - t0
            n += len(items)
    return {"seconds": seconds, "rows": n}


def peer_copy(url: str, run_id: int, folder: Path) -> dict:
    """A bare COPY of the accepted rows (with their prompts) to one Parquet file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = ["generation_id", "prompt_id", "prompt", "reference", "reasoning", "content"]
    schema = pa.schema([(n, pa.int64() if n.endswith("_id") else pa.string()) for n in names])
    path = folder / "peer.parquet"
    t0, n = time.perf_counter(), 0
    with _raw(url) as conn, conn.cursor() as cur, pq.ParquetWriter(path, schema) as out:
        sql = ("COPY (SELECT g.id, g.prompt_id, p.text, p.reference, g.reasoning, g.content "
               "FROM generations g JOIN prompts p ON p.id = g.prompt_id "
               f"WHERE g.run_id = {int(run_id)} AND g.accepted "
               "ORDER BY g.prompt_id, g.attempt) TO STDOUT")  # fmt: skip
        with cur.copy(sql) as cp:
            cp.set_types(["int8", "int8", "text", "text", "text", "text"])
            cols: list[list] = [[] for _ in names]
            for row in cp.rows():
                for col, v in zip(cols, row, strict=True):
                    col.append(v)
                if len(cols[0]) >= 1000:
                    out.write_table(pa.table(dict(zip(names, cols, strict=True)), schema=schema))
                    n, cols = n + len(cols[0]), [[] for _ in names]
            if cols[0]:
                out.write_table(pa.table(dict(zip(names, cols, strict=True)), schema=schema))
                n += len(cols[0])
    return {"seconds": time.perf_counter() - t0, "rows": n, "bytes": path.stat().st_size}


def _mib(b: int | None) -> str:
    return f"{(b or 0) / (1 << 20):,.0f}"


def report(args, res: dict, peers: dict, c: dict, peak: dict, wall: float, files: dict) -> bool:
    gens = c["generations"]
    rows = res["snapshot"]["metrics"].get("counts", {}).get("after_max_per_prompt", 0)
    work = {"rollout": gens, "filter": gens, "snapshot": rows}
    print(f"\n{gens:,} generations ({c['unique']:,} unique), {args.generations // args.attempts:,} prompts x "
          f"{args.attempts}; run {res['status']}; wall {wall:,.0f} s end to end; "
          f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}\n")  # fmt: skip
    print("| stage | seconds | items/s | peer | peer items/s | ratio | peak RSS MiB per process |")
    print("|---|---|---|---|---|---|---|")
    ok = True
    names = {"rollout": "bare client loop", "filter": "verify_many alone", "snapshot": "bare COPY to Parquet"}
    for kind in STAGES:
        secs = res[kind]["seconds"] or float("nan")
        rate = work[kind] / secs
        p = peers[kind]
        prate = (p.get("rows") or p.get("completions")) / p["seconds"]
        rss = ", ".join(f"{role} {_mib(v)}" for role, v in sorted(peak.get(kind, {}).items()))
        ok &= rate / prate >= 0.8 and max(peak.get(kind, {}).values(), default=0) < 2 * GIB
        print(
            f"| {kind} | {secs:,.1f} | {rate:,.0f} | {names[kind]} | {prate:,.0f} | "
            f"**{rate / prate:.2f}** | {rss} |"
        )
    print(f"\nrollout peer process peak RSS {_mib(peers['rollout']['peak_rss'])} MiB; this process "
          f"(filter and snapshot peers) peak RSS {_mib(peers['self_peak_rss'])} MiB")  # fmt: skip
    print(f"database {_mib(c['db_bytes'])} MiB (generations {_mib(c['generations_bytes'])} MiB, verdicts "
          f"{_mib(c['verdicts_bytes'])} MiB); snapshot {_mib(sum(files.values()))} MiB: "
          + ", ".join(f"{k} {_mib(v)}" for k, v in sorted(files.items()))
          + f"; peer Parquet {_mib(peers['snapshot']['bytes'])} MiB")  # fmt: skip
    # What each side writes (the ratio above is per row): the peer, each accepted row once, to one
    # Parquet file of 6 columns; the stage, each kept row as JSONL and Parquet in two configs (messages,
    # prompt_completion), the preference pairs in both formats too, then a SHA-256 over the JSONL. So per
    # byte written the comparison reads differently; both are printed.
    written, peer_bytes = sum(files.values()), peers["snapshot"]["bytes"]
    secs, psecs = res["snapshot"]["seconds"] or float("nan"), peers["snapshot"]["seconds"]
    print(f"snapshot writes {_mib(written)} MiB against the peer's {_mib(peer_bytes)} MiB "
          f"({written / max(peer_bytes, 1):.1f}x): {written / secs / (1 << 20):,.1f} MiB/s against "
          f"{peer_bytes / psecs / (1 << 20):,.1f} MiB/s, **{(written / secs) / (peer_bytes / psecs):.2f}** "
          "per byte written")  # fmt: skip
    want = args.generations // args.attempts * args.attempts
    checks = {
        "generations = prompts x attempts": gens == want,
        "unique (prompt, attempt)": c["unique"] == gens,
        "a math verdict per generation": c["verdicts"] == c["verdicts_unique"] == c["ok"],
        "filter verified = generations": res["filter"]["metrics"].get("verified") == c["ok"],
        "snapshot rows = selected accepted": rows == peers["snapshot_parquet_rows"] <= c["accepted"],
    }
    print(f"counts: ok {c['ok']:,}, verdicts {c['verdicts']:,}, accepted {c['accepted']:,}, snapshot rows "
          f"{rows:,} (messages.parquet {peers['snapshot_parquet_rows']:,}), peer COPY rows "
          f"{peers['snapshot']['rows']:,}")  # fmt: skip
    for name, good in checks.items():
        print(f"- {name}: {'yes' if good else 'NO'}")
    return ok and all(checks.values())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--generations", type=int, default=1_000_000, help="prompts x attempts")
    ap.add_argument("--attempts", type=int, default=4)
    ap.add_argument("--chunk-size", type=int, default=2500, help="rollout prompts per chunk task")
    ap.add_argument("--concurrency", type=int, default=128, help="rollout requests in flight")
    ap.add_argument("--filter-batch", type=int, default=512)
    ap.add_argument("--worker-concurrency", type=int, default=1, help="Celery task processes")
    ap.add_argument("--broker", default="redis://127.0.0.1:6379/13")
    ap.add_argument("--keep", action="store_true", help="keep the database and files")
    ap.add_argument("--peer-client", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.peer_client:
        base, *nums = args.peer_client
        _client_loop(base, *map(int, nums))
        return 0
    import resource

    import pyarrow.parquet as pq
    import redis

    from backend.core.net import free_port
    from tests.fakes.fake_openai_server import start_fake_server, stop_fake_server

    data = Path(tempfile.mkdtemp(prefix="distillery-scale-"))
    url = fresh_db(DB)
    env = {"DISTILLERY_DATABASE_URL": url, "DISTILLERY_BROKER_URL": args.broker,
           "DISTILLERY_ENVIRONMENT": "test", "DISTILLERY_SECRET_KEY": "bench-secret-key-0123456789",
           "DISTILLERY_DATA_DIR": str(data), "DISTILLERY_LOG_LEVEL": "WARNING"}  # fmt: skip
    os.environ.update(env)
    redis.Redis.from_url(args.broker).flushdb()
    t_all = time.perf_counter()
    ids = setup(args, data)
    port = free_port()
    server = start_fake_server(port, "--math", log_path=data / "fake.log")
    base = f"http://127.0.0.1:{port}"
    worker = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "worker", "--queues", "cpu", "--concurrency",
         str(args.worker_concurrency), "--loglevel", "WARNING"],  # fmt: skip
        cwd=ROOT, env=os.environ.copy(), stdout=open(data / "worker.log", "wb"),  # noqa: SIM115
        stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    sampler = RssSampler({"worker": worker.pid, "fake teacher": server.pid, "bench": os.getpid()})
    sampler.start()
    try:
        t0 = time.perf_counter()
        run_id = start_run(ids, base, args)
        res = follow(run_id, sampler)
        wall = time.perf_counter() - t0
        sampler.stage = "peers"
        print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk != "metrics"} if isinstance(v, dict) else v
                          for k, v in res.items()}), flush=True)  # fmt: skip
        if res["status"] != "succeeded":
            print((data / "worker.log").read_text()[-3000:])
            return 1
        c = counts(run_id)
        snap = res["snapshot"]["metrics"]
        folder = data / "snapshots" / str(ids["project_id"]) / snap["content_hash"]
        peers = {
            "rollout": peer_client(
                f"{base}/v1", ids["prompts"], args.attempts, args.concurrency, args.chunk_size
            ),
            "filter": peer_verify(url, run_id, args.filter_batch),
            "snapshot": peer_copy(url, run_id, data),
            "snapshot_parquet_rows": pq.ParquetFile(folder / "messages.parquet").metadata.num_rows,
            "self_peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        }
        good = report(args, res, peers, c, sampler.peak, wall, snap["files"])
        print(
            f"\nsetup + run + peers: {time.perf_counter() - t_all:,.0f} s; "
            f"targets {'met' if good else 'NOT met'}"
        )
        return 0 if good else 1
    finally:
        sampler.stop.set()
        worker.terminate()
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
        stop_fake_server(server)
        if not args.keep:
            from backend.core.db import get_engine

            get_engine().dispose()
            import psycopg

            with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
            import shutil

            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
