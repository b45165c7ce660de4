"""How fast the platform stores completions when the teacher answers instantly: its own overhead.

An instant-answer OpenAI-compatible server (the project's fake, ~2 KB answers with a reasoning part)
runs on loopback. One Celery worker process (concurrency 1) runs a rollout stage of N prompts x 1
attempt through the real path: the aiohttp client, parsing, batched ON CONFLICT writes to a fresh
PostgreSQL database, progress. In the same run, the peer: bespokelabs-curator (PyPI
`bespokelabs-curator`, in its own venv bench/.venv-curator, since it pins its own stack) sends the
same N requests to the same server and writes its own dataset cache. Also shown: the server's own
ceiling, a bare aiohttp loop that parses nothing and stores nothing.

The client alone (bench/peers/client_loop.py, each in its own process, rounds alternating): our
OpenAICompatClient against the openai SDK on its aiohttp transport (`openai[aiohttp]`,
DefaultAioHttpClient) and on its default httpx one, the same requests at the same concurrency, each
answer split into content and reasoning. CPU per request is the client process's own.

    .venv/bin/python bench/rollout_overhead.py [--requests 20000] [--no-curator]
        [--client-requests 5000] [--client-rounds 3] [--clients-only] [--rounds 3]

Each of --rounds rounds measures the ceiling, then a rollout run on the same worker and database; the
figure that counts is the per-round ratio of the two. `--client-rounds 0` skips the client comparison.
DISTILLERY_BENCH_BROKER / DISTILLERY_BENCH_DB (bench/harness.py) keep engineers sharing a machine apart.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CURATOR_VENV = ROOT / "bench" / ".venv-curator"


def prompts(n: int) -> list[str]:
    return [
        f"Problem {i}: a train leaves at {i % 12} o'clock at {40 + i % 50} km/h. When does it arrive?"
        for i in range(n)
    ]


def ceiling(base: str, n: int, concurrency: int) -> float:
    """Requests/s of a bare aiohttp loop against the server: no parsing, no storage."""
    import asyncio

    import aiohttp
    import orjson

    async def go() -> float:
        sem = asyncio.Semaphore(concurrency)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:

            async def one(i: int) -> None:
                body = orjson.dumps(
                    {"model": "fake-teacher", "messages": [{"role": "user", "content": f"q{i}"}]}
                )
                async with sem, http.post(f"{base}/v1/chat/completions", data=body) as r:
                    await r.read()

            t0 = time.perf_counter()
            await asyncio.gather(*(one(i) for i in range(n)))
            return n / (time.perf_counter() - t0)

    return asyncio.run(go())


def platform(p, tid: int, n: int, concurrency: int, chunk: int) -> dict:
    """A rollout stage through a real Celery worker into PostgreSQL, with the worker's CPU (the Celery
    parent and its pool child) over the stage."""
    import psutil

    def cpu() -> float:
        procs = [psutil.Process(p.worker.pid)]
        procs += procs[0].children(recursive=True)
        return sum(sum(pr.cpu_times()[:2]) for pr in procs)

    before = cpu()
    out = p.rollout(tid, n=1, chunk_size=chunk, concurrency=concurrency)
    out["worker_cpu_s"] = cpu() - before
    return out


def curator(base: str, n: int, concurrency: int) -> dict:
    """bespokelabs-curator's online OpenAI backend against the same server and prompts."""
    py = CURATOR_VENV / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(CURATOR_VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "bespokelabs-curator"], check=True)
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [str(py), str(ROOT / "bench" / "peers" / "curator_peer.py"), base, str(n), str(concurrency), tmp],
            capture_output=True,
            text=True,
            env={
                **os.environ,
                "CURATOR_CACHE_DIR": tmp,
                "OPENAI_API_KEY": "sk-fake",
                "CURATOR_DISABLE_RICH_DISPLAY": "1",
                "TELEMETRY_ENABLED": "False",
            },
            timeout=3600,
        )
    if out.returncode != 0:
        raise RuntimeError(f"curator peer failed: {out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


CLIENTS = ("ours", "sdk-aiohttp", "sdk-httpx")


def clients(base: str, n: int, concurrency: int, rounds: int) -> dict[str, list[dict]]:
    """Each client alone in a process, rounds alternating the clients so drift hits all alike."""
    runs: dict[str, list[dict]] = {c: [] for c in CLIENTS}
    script = str(ROOT / "bench" / "peers" / "client_loop.py")
    for _ in range(rounds):
        for c in CLIENTS:
            out = subprocess.run(
                [sys.executable, script, c, f"{base}/v1", str(n), str(concurrency), "1"],
                capture_output=True,
                text=True,
                check=True,
            )
            res = json.loads(out.stdout.strip().splitlines()[-1])
            if res["completions"] != n:
                raise RuntimeError(f"{c}: {res['completions']} of {n} completions")
            runs[c].append(res)
    return runs


def print_clients(runs: dict[str, list[dict]], n: int, concurrency: int) -> None:
    import statistics

    rounds = len(runs["ours"])
    print(f"client alone: {n:,} requests, concurrency {concurrency}, {rounds} rounds (median, range)")
    print(f"{'client':<14}{'req/s':>9}{'range':>15}{'CPU us/req':>12}{'range':>15}")
    for c, rs in runs.items():
        rate = [n / r["seconds"] for r in rs]
        cpu = [r["cpu_s"] / n * 1e6 for r in rs]
        print(f"{c:<14}{statistics.median(rate):>9,.0f}{f'{min(rate):,.0f}-{max(rate):,.0f}':>15}"
              f"{statistics.median(cpu):>12,.0f}{f'{min(cpu):,.0f}-{max(cpu):,.0f}':>15}")  # fmt: skip
    for c in CLIENTS[1:]:
        per = [p["cpu_s"] / o["cpu_s"] for o, p in zip(runs["ours"], runs[c], strict=True)]
        thr = [o["seconds"] / p["seconds"] for o, p in zip(runs["ours"], runs[c], strict=True)]
        print(f"{c}/ours per round: CPU per request {statistics.median(per):.2f}x "
              f"({min(per):.2f}-{max(per):.2f}), throughput {statistics.median(thr):.2f}x "
              f"({min(thr):.2f}-{max(thr):.2f})")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=20_000)
    ap.add_argument("--answer-bytes", type=int, default=2048)
    ap.add_argument("--concurrency", type=int, default=128)
    ap.add_argument("--chunk-size", type=int, default=2500)
    ap.add_argument("--no-curator", action="store_true")
    ap.add_argument("--client-requests", type=int, default=5000)
    ap.add_argument("--client-rounds", type=int, default=3)
    ap.add_argument("--clients-only", action="store_true", help="only the client comparison")
    ap.add_argument("--rounds", type=int, default=3, help="ceiling + platform rounds (one worker)")
    args = ap.parse_args()
    from backend.core.net import free_port
    from tests.fakes.fake_openai_server import start_fake_server, stop_fake_server

    port = free_port()
    server = start_fake_server(port, "--answer-bytes", str(args.answer_bytes))
    base = f"http://127.0.0.1:{port}"
    rounds: list[tuple[float, dict]] = []
    try:
        if args.client_rounds:
            picks = clients(base, args.client_requests, args.concurrency, args.client_rounds)
            print_clients(picks, args.client_requests, args.concurrency)
        if args.clients_only:
            return
        from bench.harness import Platform

        p = Platform(prompts(args.requests), queues="cpu")
        try:
            tid = p.teacher("fake", backend="openai_compat", model="fake-teacher", base_url=f"{base}/v1")
            for _ in range(args.rounds):  # the ceiling beside each round: the load drifts on a shared box
                roof = ceiling(base, min(args.requests, 5000), args.concurrency)
                rounds.append((roof, platform(p, tid, args.requests, args.concurrency, args.chunk_size)))
        finally:
            p.close()
        peer = None if args.no_curator else curator(base, args.requests, args.concurrency)
    finally:
        stop_fake_server(server)
    report(rounds, peer, args)


def report(rounds: list[tuple[float, dict]], peer: dict | None, args) -> None:
    import statistics

    def med(xs: list[float]) -> str:
        return f"{statistics.median(xs):,.2f}" if max(xs) < 10 else f"{statistics.median(xs):,.0f}"

    roofs = [r for r, _ in rounds]
    rates = [o["stored"] / o["seconds"] for _, o in rounds]
    ratios = [rate / roof for rate, roof in zip(rates, roofs, strict=True)]
    cpu_us = [o["worker_cpu_s"] / max(o["stored"], 1) * 1e6 for _, o in rounds]
    print(f"{args.requests:,} requests, ~{args.answer_bytes} B answers with reasoning, ", end="")
    print(f"concurrency {args.concurrency}, {len(rounds)} rounds (median, range), load {os.getloadavg()}")
    print(f"{'path':<58}{'stored/s':>10}{'range':>16}")
    for name, xs in (
        ("server ceiling: bare aiohttp loop, nothing parsed or stored", roofs),
        ("distillery: Celery worker -> client -> PostgreSQL", rates),
        ("distillery / ceiling (per round)", ratios),
        ("distillery worker CPU us per stored completion", cpu_us),
    ):
        print(f"{name:<58}{med(xs):>10}{f'{med([min(xs)])}-{med([max(xs)])}':>16}")
    rate = statistics.median(rates)
    if peer:
        prate = peer["stored"] / peer["seconds"]
        print(f"{'peer: bespokelabs-curator ' + peer['version']:<58}{prate:>10,.0f}")
        print(f"ratio distillery/curator: {rate / prate:.2f} (target >= 2)")
    ours = rounds[-1][1]
    verdict = "met" if statistics.median(ratios) >= 0.5 else "NOT met"
    print(f"stored {ours['stored']:,} of {args.requests:,} ({ours['status']}) in the last round; "
          f"target >= 0.5 of the ceiling: {verdict}")  # fmt: skip
    keys = ("succeeded", "failed", "completions_per_s")
    print(f"stage metrics: {json.dumps({k: ours['metrics'][k] for k in keys})}")


if __name__ == "__main__":
    main()
