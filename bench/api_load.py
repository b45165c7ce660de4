"""API throughput under load: `distillery serve --workers 1` against `--workers N` (issue 15, item 15).

Seeds a throw-away embedded database (SQLite under a temp DATA_DIR: a project, 50 runs, one run with
500 generations), starts `distillery serve` with each worker count, and keeps `--concurrency` requests
in flight for `--seconds` against each endpoint: /api/health is the peer (no database), then the runs
list and a page of 100 generations. Prints requests/s and p50/p99 latency per (workers, endpoint).

    PYTHONPATH=$PWD python bench/api_load.py --workers 1,2 --concurrency 32 --seconds 5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _seed(env: dict[str, str], prompts: Path) -> tuple[str, int, int]:
    """A user's token, a project and a run with generations, written by the platform's own code."""
    code = f"""
import json
from backend.core.migrate import upgrade_head
upgrade_head()
from backend.core.db import session_scope
from backend.users.service import create_user, issue_token
from backend.projects.service import create_project
from backend.prompts.service import import_prompt_set
from backend.runs.schemas import RunCreate
from backend.runs.service import create_run
from backend.samples.models import Generation
from backend.prompts.models import Prompt
from sqlalchemy import select
from pathlib import Path
with session_scope() as s:
    u = create_user(s, email="load@example.com", password="load-password")
    p = create_project(s, owner=u, name="load")
    ps, _ = import_prompt_set(s, project=p, user=u, name="p", path=Path({str(prompts)!r}), filename="p.jsonl")
    recipe = {{"prompt_set_id": ps.id}}
    new = [RunCreate(name=f"r{{i}}", recipe=recipe) for i in range(50)]
    runs = [create_run(s, project=p, user=u, data=d) for d in new]
    ids = s.scalars(select(Prompt.id).where(Prompt.prompt_set_id == ps.id)).all()
    s.add_all(Generation(run_id=runs[0].id, prompt_id=pid, attempt=a, content="x" * 400)
              for pid in ids for a in range(5))
    _, token = issue_token(s, user=u, kind="personal", name="load", ttl=None)
    print(json.dumps([token, p.id, runs[0].id]))
"""
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(out.stderr)
    import json

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", default=f"1,{os.cpu_count() or 1}")
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    data = Path(tempfile.mkdtemp(prefix="distillery-load-"))
    env = {
        **os.environ,
        "DISTILLERY_DATA_DIR": str(data),
        "DISTILLERY_DATABASE_URL": "",
        "PYTHONPATH": str(ROOT),
    }
    env["DISTILLERY_LOG_LEVEL"] = "WARNING"
    prompts = data / "p.jsonl"
    prompts.write_text("".join(f'{{"prompt": "question {i}"}}\n' for i in range(100)))
    token, pid, rid = _seed(env, prompts)
    headers = {"Authorization": f"Bearer {token}"}
    print("| workers | endpoint | req/s | p50 ms | p99 ms | req/s vs health |")
    print("|---|---|---|---|---|---|")
    for workers in map(int, args.workers.split(",")):
        port = 18000 + workers
        cmd = [sys.executable, "-m", "backend.cli", "serve", "--port", str(port), "--no-migrate"]
        proc = subprocess.Popen(
            [*cmd, "--workers", str(workers)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(200):
                try:
                    asyncio.run(_load(f"{base}/api/health", {}, 1, 0.01))
                    break
                except Exception:  # noqa: BLE001 - not up yet
                    time.sleep(0.1)
            health = None
            for name, path in (
                ("health", "/api/health"),
                ("runs list", f"/api/projects/{pid}/runs?limit=50"),
                ("generations page", f"/api/projects/{pid}/runs/{rid}/generations?limit=100"),
            ):
                rps, lat = asyncio.run(_load(base + path, headers, args.concurrency, args.seconds))
                health = health or rps
                q = statistics.quantiles(lat, n=100)
                p50, p99 = q[49] * 1e3, q[98] * 1e3
                print(f"| {workers} | {name} | {rps:,.0f} | {p50:.1f} | {p99:.1f} | {rps / health:.2f} |")
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
