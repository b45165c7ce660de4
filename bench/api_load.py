"""API throughput under load on both databases (issue 15 item 15, issue 24 item 8).

For each database (the embedded SQLite under a temp DATA_DIR, and a throw-away PostgreSQL database
created on DISTILLERY_TEST_PG's server and dropped after), seeds a project with 50 runs (finished
ones' summaries as a pipeline writes them: rollout counts, every other run a 200-point loss curve)
and one run with 500 generations, starts `distillery serve` with each worker count, and keeps
`--concurrency` requests in flight for `--seconds` against each endpoint: /api/health is the peer (no
database, no auth), then the runs list (50 runs) and a page of 100 generations. Prints requests/s,
p50/p99 latency, requests/s as a share of health's in the same server, and the server's CPU time per
request (its processes' user + system time over the load, which a busy machine moves far less than
requests/s), per (database, workers, endpoint). Targets (issue 24 item 8): each list >= 0.3 of
health, p99 < 300 ms at concurrency 32.

    PYTHONPATH=$PWD python bench/api_load.py --db sqlite,postgresql --workers 1 --concurrency 32 --seconds 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("DISTILLERY_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
RUNS, PROMPTS, ATTEMPTS = 50, 100, 5

SEED = """
import json
from pathlib import Path
from sqlalchemy import select
from backend.core.migrate import upgrade_head
upgrade_head()
from backend.core.db import session_scope
from backend.users.service import create_user, issue_token
from backend.projects.service import create_project
from backend.prompts.service import import_prompt_set
from backend.prompts.models import Prompt
from backend.runs.models import Status
from backend.runs.schemas import RunCreate
from backend.runs.service import create_run
from backend.samples.models import Generation
with session_scope() as s:
    u = create_user(s, email="load@example.com", password="load-password")
    p = create_project(s, owner=u, name="load")
    ps, _ = import_prompt_set(s, project=p, user=u, name="p", path=Path(PROMPTS), filename="p.jsonl")
    runs = [create_run(s, project=p, user=u, data=RunCreate(name=f"r{i}", recipe={"prompt_set_id": ps.id}))
            for i in range(RUNS)]
    for i, run in enumerate(runs):
        run.status = Status.succeeded
        run.summary = SUMMARY(i)
    ids = s.scalars(select(Prompt.id).where(Prompt.prompt_set_id == ps.id)).all()
    s.add_all(Generation(run_id=runs[0].id, prompt_id=pid, attempt=a, content="x" * 400)
              for pid in ids for a in range(ATTEMPTS))
    _, token = issue_token(s, user=u, kind="personal", name="load", ttl=None)
    print(json.dumps([token, p.id, runs[0].id]))
"""


def summary(i: int) -> dict:
    """What a finished run's summary holds (the list used to parse and validate all of it)."""
    failed = 3 if i % 5 == 0 else 0
    rollout = {
        "generations": 500, "succeeded": 500 - failed, "failed": failed, "truncated": 12, "from_cache": 0,
        "failures": {"http_500": failed} if failed else {}, "prompt_tokens": 51_200,
        "completion_tokens": 204_800, "tokens_per_s": 1843.2, "completions_per_s": 4.5, "cost_usd": 0.41,
        "gpu_seconds": 0.0, "elapsed_s": 111.1, "chunks": {"succeeded": 4},
        "partly_failed": f"{failed} of 500 attempts failed (http 500: {failed})" if failed else None,
    }  # fmt: skip
    out: dict = {"rollout": rollout}
    if i % 2:
        point = {"learning_rate": 2e-4, "grad_norm": 1.1}
        series = [{"step": s, "loss": 2.5 / (1 + s / 50), **point} for s in range(200)]
        out["train"] = {"method": "sft", "step": 200, "max_steps": 200, "loss": 0.5, "series": series}
    return out


def _seed(env: dict[str, str], prompts: Path) -> tuple[str, int, int]:
    """A user's token, a project with runs and a run with generations, written by the platform's own code."""
    summaries = prompts.with_name("summaries.json")
    summaries.write_text(json.dumps([summary(i) for i in range(RUNS)]))
    code = (
        f"RUNS, ATTEMPTS, PROMPTS = {RUNS}, {ATTEMPTS}, {str(prompts)!r}\n"
        + f"SUMMARY = __import__('json').loads(open({str(summaries)!r}).read()).__getitem__\n"
        + SEED
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(out.stderr)
    token, pid, rid = json.loads(out.stdout.strip().splitlines()[-1])
    return token, pid, rid


async def _load(
    url: str, headers: dict[str, str], concurrency: int, seconds: float
) -> tuple[float, list[float]]:
    import aiohttp

    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession(headers=headers) as http:

        async def one() -> None:
            while time.monotonic() < deadline:
                t0 = time.perf_counter()
                async with http.get(url) as r:
                    await r.read()
                    assert r.status == 200, r.status
                latencies.append(time.perf_counter() - t0)

        started = time.monotonic()
        await asyncio.gather(*(one() for _ in range(concurrency)))
        return len(latencies) / (time.monotonic() - started), latencies


async def _get(url: str) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as http, http.get(url) as r:
        r.raise_for_status()


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and its children (uvicorn's workers):
    what a request costs the server, which a loaded machine's noise moves far less than req/s."""
    tick = os.sysconf("SC_CLK_TCK")
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / tick + sum(_cpu_s(int(k)) for k in kids)


def _serve(env: dict[str, str], workers: int, port: int, log: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "backend.cli", "serve", "--port", str(port), "--no-migrate"]
    with log.open("wb") as out:  # the server's own log, for a request that did not answer 200
        proc = subprocess.Popen(
            [*cmd, "--workers", str(workers)], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 120  # a loaded shared machine takes well over 30 s to start a server
    while time.monotonic() < deadline:
        try:
            asyncio.run(_get(f"http://127.0.0.1:{port}/api/health"))
            return proc
        except Exception:  # noqa: BLE001 - not up yet
            if proc.poll() is not None:
                raise SystemExit(f"distillery serve exited with {proc.returncode}") from None
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit("distillery serve did not answer in 120 s")


def _bench_db(db: str, env: dict[str, str], args: argparse.Namespace) -> None:
    data = Path(env["DISTILLERY_DATA_DIR"])
    prompts = data / "p.jsonl"
    prompts.write_text("".join(f'{{"prompt": "question {i}"}}\n' for i in range(PROMPTS)))
    token, pid, rid = _seed(env, prompts)
    headers = {"Authorization": f"Bearer {token}"}
    for workers in map(int, args.workers.split(",")):
        port = 18000 + workers
        log = data / f"serve-{workers}.log"
        proc = _serve(env, workers, port, log)
        try:
            base = f"http://127.0.0.1:{port}"
            health = None
            for name, path in (
                ("health", "/api/health"),
                ("runs list", f"/api/projects/{pid}/runs?limit={RUNS}"),
                ("generations page", f"/api/projects/{pid}/runs/{rid}/generations?limit=100"),
            ):
                asyncio.run(_load(base + path, headers, args.concurrency, 0.5))  # warm-up
                cpu = _cpu_s(proc.pid)
                rps, lat = asyncio.run(_load(base + path, headers, args.concurrency, args.seconds))
                cpu_ms = (_cpu_s(proc.pid) - cpu) * 1e3 / len(lat)
                health = health or rps
                q = statistics.quantiles(lat, n=100)
                p50, p99 = q[49] * 1e3, q[98] * 1e3
                cells = f"{rps:,.0f} | {p50:.1f} | {p99:.1f} | {rps / health:.2f} | {cpu_ms:.2f}"
                print(f"| {db} | {workers} | {name} | {cells} |", flush=True)
        except AssertionError as exc:
            lines = [ln for ln in log.read_text(errors="replace").splitlines() if " 200 OK" not in ln]
            said = "\n".join(lines[-40:])
            raise SystemExit(f"a request answered {exc}; the server said:\n{said}") from None
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default="sqlite,postgresql", help="sqlite, postgresql or both (comma-separated)")
    ap.add_argument("--workers", default="1", help="uvicorn worker counts, comma-separated")
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    print("| database | workers | endpoint | req/s | p50 ms | p99 ms | req/s vs health | server CPU ms/req |")
    print("|---|---|---|---|---|---|---|---|", flush=True)
    for db in args.db.split(","):
        env = {
            **os.environ,
            "DISTILLERY_DATA_DIR": tempfile.mkdtemp(prefix="distillery-load-"),
            "DISTILLERY_DATABASE_URL": "",
            "DISTILLERY_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
        if db == "sqlite":
            _bench_db(db, env, args)
            continue
        if db != "postgresql":
            raise SystemExit(f"--db: unknown database {db!r} (sqlite, postgresql)")
        name = f"distillery_load_{uuid.uuid4().hex[:12]}"
        _admin(f'CREATE DATABASE "{name}"')
        try:
            _bench_db(db, {**env, "DISTILLERY_DATABASE_URL": PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"}, args)
        finally:
            _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)


if __name__ == "__main__":
    main()
