"""Does the platform keep up with vLLM? The same prompts and sampling (n=4) against one vLLM server
(the CPU build from scripts/setup-vllm.sh, over the project's tiny model):

- direct: a plain async loop of the openai SDK (vLLM's own client stack), nothing stored;
- sdk-aiohttp: the openai SDK on its aiohttp transport (DefaultAioHttpClient), the same loop;
- bare: a bare aiohttp loop (the HTTP stack the platform's client uses), nothing stored; on this
  2-core machine the client's own CPU competes with vLLM's CPU engine, so this is the stricter peer;
- platform: a full rollout stage through a Celery worker into PostgreSQL, with the teacher pointed at
  the same running server (backend vllm with base_url, as the compose file's vllm service runs it).

Rounds alternate direct and platform so drift hits both; the ratio of median throughputs is the share of
vLLM's throughput the platform keeps (target >= 0.95).

    .venv/bin/python bench/rollout_vllm.py [--prompts 1024] [--n 4] [--max-tokens 32] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "examples"))


PEER_SDK = "openai_direct.py"
LABELS = {
    "direct": "direct: openai SDK loop, nothing stored",
    "bare": "direct: bare aiohttp loop, nothing stored",
    "sdk-aiohttp": "direct: openai SDK on aiohttp, nothing stored",
    "platform": "platform: Celery rollout -> PostgreSQL",
}


def prompts(n: int) -> list[str]:
    return [
        f"how many apples are left if {i % 50} of {i % 50 + 9} are eaten and {i} more arrive"
        for i in range(n)
    ]


def direct(
    python: str, base: str, model: str, texts: list[str], args, peer: str = "openai_direct.py", *extra: str
) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(texts, fh)
    cmd = [python, str(ROOT / "bench" / "peers" / peer), base, model, fh.name, str(args.n),
           str(args.max_tokens), str(args.temperature), str(args.concurrency), *extra]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=3600)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--prompts", type=int, default=1024)
    ap.add_argument("--n", type=int, default=4)
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--chunk-size", type=int, default=256)
    args = ap.parse_args()
    from tiny_model import build

    from bench.harness import Platform
    from workers.teachers.vllm_server import VLLMServer, VLLMServerSpec, vllm_python

    texts = prompts(args.prompts)
    platform = Platform(texts, queues="cpu")
    model_dir = build(platform.data / "tiny-chat")
    spec = VLLMServerSpec(str(model_dir), served_model_name="tiny", dtype="float32", max_model_len=256,
                          enforce_eager=True, gpu_memory_utilization=0.2)  # fmt: skip
    rows = []
    try:
        with VLLMServer(spec) as server:
            tid = platform.teacher("vllm", backend="vllm", model="tiny", base_url=server.base_url)
            settings = {"n": args.n, "max_tokens": args.max_tokens, "temperature": args.temperature,
                        "concurrency": args.concurrency, "chunk_size": args.chunk_size}  # fmt: skip
            direct(vllm_python(), server.base_url, "tiny", texts[:32], args)  # warm-up, not counted
            for _ in range(args.rounds):
                d = direct(vllm_python(), server.base_url, "tiny", texts, args)
                rows.append(("direct", d["seconds"], d["completions"], d["tokens"]))
                a = direct(sys.executable, server.base_url, "tiny", texts, args, peer="aiohttp_direct.py")
                rows.append(("bare", a["seconds"], a["completions"], a["tokens"]))
                # the SDK on aiohttp, with this interpreter (vLLM's has no httpx-aiohttp)
                h = direct(sys.executable, server.base_url, "tiny", texts, args, PEER_SDK, "aiohttp")
                rows.append(("sdk-aiohttp", h["seconds"], h["completions"], h["tokens"]))
                p = platform.rollout(tid, **settings)
                if p["status"] != "succeeded":
                    raise RuntimeError(f"rollout {p['status']}: {p['error']}")
                rows.append(("platform", p["seconds"], p["stored"], p["tokens"]))
    finally:
        platform.close()
    print(f"{args.prompts} prompts x n={args.n}, max_tokens {args.max_tokens}, ", end="")
    print(f"concurrency {args.concurrency}, vLLM {vllm_python()}")
    print(f"{'path':<46}{'seconds':>9}{'compl.':>8}{'compl/s':>9}{'tok/s':>9}")
    for name, secs, comp, tok in rows:
        label = LABELS[name]
        print(f"{label:<46}{secs:>9.1f}{comp:>8}{comp / secs:>9.1f}{tok / secs:>9.0f}")
    med = {k: statistics.median(c / s for n, s, c, _ in rows if n == k) for k in LABELS}
    ratio = med["platform"] / med["direct"]
    print("median completions/s: " + ", ".join(f"{k} {v:.1f}" for k, v in med.items()))
    verdict = "met" if ratio >= 0.95 else "NOT met"
    print(f"platform / openai-SDK loop: {ratio:.3f} (target >= 0.95: {verdict}); ", end="")
    print(f"platform / bare aiohttp loop: {med['platform'] / med['bare']:.3f}")


if __name__ == "__main__":
    main()
