"""A FAKE non-deterministic teacher endpoint: a proxy in front of a real vLLM server that passes every
request through and adds noise to the prompt logprobs of /v1/completions answers, so the same text
scored twice gets different scores (a server whose batches are not invariant, say). It stands in for
such a server, which cannot be summoned on purpose here.

    with noisy_proxy("http://127.0.0.1:8000", noise=0.5) as url: ...   # url ends in /v1
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from aiohttp import web

from backend.core.net import free_port


def _perturb(body: dict, rng: random.Random, noise: float) -> dict:
    for choice in body.get("choices", []):
        for position in choice.get("prompt_logprobs") or []:
            for entry in (position or {}).values():
                entry["logprob"] = min(0.0, entry["logprob"] + rng.uniform(-noise, noise))
    return body


@contextmanager
def noisy_proxy(upstream: str, noise: float, seed: int = 0) -> Iterator[str]:
    """Serve the proxy on a loopback port while the block runs; yields its base_url (with /v1)."""
    rng, port = random.Random(seed), free_port()
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    async def forward(request: web.Request) -> web.Response:
        async with httpx.AsyncClient(base_url=upstream, timeout=120, trust_env=False) as http:
            r = await http.request(
                request.method,
                request.path,
                content=await request.read(),
                headers={"content-type": "application/json"},
            )
        if request.path == "/v1/completions" and r.status_code == 200:
            return web.json_response(_perturb(r.json(), rng, noise))
        return web.Response(body=r.content, status=r.status_code, content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", forward)
    runner = web.AppRunner(app)

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
