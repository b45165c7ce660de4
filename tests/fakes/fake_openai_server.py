"""A FAKE OpenAI-compatible chat server of the project's own: instant answers for benchmarks, and
faults at set rates for tests (429 with Retry-After, 500, hangs past the client's timeout, dropped
connections, malformed JSON, empty content, finish_reason=length, a provider that ignores n, and
x-ratelimit-* headers). It stands in for paid APIs' failure modes, which cannot be summoned here.

    python -m tests.fakes.fake_openai_server --port 8099 --rate-429 0.1 --rate-500 0.05
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, fields
from pathlib import Path

import orjson
from aiohttp import web

ROOT = Path(__file__).resolve().parents[2]
FAULTS = ("429", "500", "timeout", "reset", "malformed", "empty", "length", "nul")
WORDS = "so first we add the numbers then carry the one and check the sum again because care matters".split()


@dataclass
class FakeServerConfig:
    host: str = "127.0.0.1"
    port: int = 8099
    model: str = "fake-teacher"
    answer_bytes: int = 2048
    reasoning_style: str = "think"  # think | reasoning_content | reasoning | none
    rate_429: float = 0.0
    retry_after: float = 0.05
    rate_500: float = 0.0
    rate_timeout: float = 0.0
    hang_s: float = 5.0
    rate_reset: float = 0.0
    rate_malformed: float = 0.0
    rate_empty: float = 0.0
    rate_length: float = 0.0
    rate_nul: float = 0.0  # a NUL character inside the answer, as small models emit
    seed: int = 0
    max_faults_per_prompt: int = 0  # 0: no cap; else a conversation is faulted at most this many times
    ignore_n: bool = False
    fail_marker: str = "ALWAYS_FAIL"
    ratelimit_requests: int = 0
    ratelimit_window_s: float = 1.0
    latency_s: float = 0.0


def _text(nbytes: int, rng: random.Random) -> str:
    out, size = [], 0
    while size < nbytes:
        w = rng.choice(WORDS)
        out.append(w)
        size += len(w) + 1
    return " ".join(out)


class FakeOpenAIServer:
    def __init__(self, cfg: FakeServerConfig):
        self.cfg = cfg
        self.tries: Counter[bytes] = Counter()
        self.faulted: Counter[bytes] = Counter()
        self.stats: Counter[str] = Counter()
        self.requests = 0
        reasoning_len = cfg.answer_bytes * 3 // 4
        self.reasoning = _text(reasoning_len, random.Random(1))
        self.answer = (
            _text(max(cfg.answer_bytes - reasoning_len - 20, 1), random.Random(2)) + " The answer is 42."
        )
        self.window_start = time.monotonic()
        self.window_used = 0
        self._bodies: dict[tuple[int, bool], bytes] = {}

    # -- helpers --------------------------------------------------------------------------------

    def _message(self, truncated: bool, empty: bool) -> dict:
        style = self.cfg.reasoning_style
        if empty:
            return {"role": "assistant", "content": ""}
        if truncated:
            cut = self.reasoning[: len(self.reasoning) // 2]
            if style == "think":
                return {"role": "assistant", "content": f"<think>{cut}"}
            return {"role": "assistant", "content": cut}
        if style == "think":
            return {"role": "assistant", "content": f"<think>{self.reasoning}</think>{self.answer}"}
        if style in ("reasoning_content", "reasoning"):
            return {"role": "assistant", "content": self.answer, style: self.reasoning}
        return {"role": "assistant", "content": self.answer}

    def _body(self, n: int, prompt_tokens: int, truncated: bool = False, empty: bool = False) -> bytes:
        msg = self._message(truncated, empty)
        per = len(msg["content"].split()) + len(msg.get(self.cfg.reasoning_style, "").split())
        return orjson.dumps(
            {
                "id": f"chatcmpl-fake-{self.requests}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": self.cfg.model,
                "choices": [
                    {"index": i, "message": msg, "finish_reason": "length" if truncated else "stop"}
                    for i in range(n)
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": per * n,
                    "total_tokens": prompt_tokens + per * n,
                },
            }
        )

    def _ratelimit(self) -> tuple[dict[str, str], bool]:
        """OpenAI-style headers; True when this request is over the window's budget."""
        k = self.cfg.ratelimit_requests
        if not k:
            return {}, False
        now = time.monotonic()
        if now - self.window_start >= self.cfg.ratelimit_window_s:
            self.window_start, self.window_used = now, 0
        over = self.window_used >= k
        if not over:
            self.window_used += 1
        reset = max(self.cfg.ratelimit_window_s - (now - self.window_start), 0.0)
        return {
            "x-ratelimit-limit-requests": str(k),
            "x-ratelimit-remaining-requests": str(max(k - self.window_used, 0)),
            "x-ratelimit-reset-requests": f"{reset:.3f}s",
        }, over

    def _draws(self, conversation: bytes) -> dict[str, float]:
        """A uniform number per fault kind from (seed, conversation, how often it was seen): the same
        conversation meets the same faults whatever order requests arrive in."""
        key = hashlib.sha1(conversation).digest()
        self.tries[key] += 1
        if self.cfg.max_faults_per_prompt and self.faulted[key] >= self.cfg.max_faults_per_prompt:
            return dict.fromkeys(FAULTS, 1.0)
        out = {}
        for kind in FAULTS:
            h = hashlib.blake2b(
                b"%d|%s|%d|%s" % (self.cfg.seed, key, self.tries[key], kind.encode()), digest_size=8
            )
            out[kind] = int.from_bytes(h.digest()) / 2**64
        rates = [self.cfg.rate_429, self.cfg.rate_500, self.cfg.rate_timeout, self.cfg.rate_reset,
                 self.cfg.rate_malformed, self.cfg.rate_empty]  # fmt: skip
        if any(out[k] < r for k, r in zip(FAULTS, rates, strict=False)):
            self.faulted[key] += 1
        return out

    # -- handlers -------------------------------------------------------------------------------

    async def chat(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        cfg = self.cfg
        raw = await request.read()
        body = orjson.loads(raw)
        messages = body.get("messages") or []
        texts = [m.get("content") or "" for m in messages if isinstance(m, dict)]
        n = 1 if cfg.ignore_n else int(body.get("n") or 1)
        if cfg.fail_marker and any(cfg.fail_marker in t for t in texts):
            self.stats["marker"] += 1
            return web.Response(status=500, text="fake permanent failure")
        headers, over = self._ratelimit()
        if over:
            self.stats["ratelimited"] += 1
            return web.Response(status=429, headers={**headers, "Retry-After": str(cfg.retry_after)})
        draws = self._draws(orjson.dumps(messages))
        if draws["429"] < cfg.rate_429:
            self.stats["429"] += 1
            return web.Response(status=429, headers={"Retry-After": str(cfg.retry_after)}, text="slow down")
        if draws["500"] < cfg.rate_500:
            self.stats["500"] += 1
            return web.Response(status=500, text="fake internal error")
        if draws["timeout"] < cfg.rate_timeout:
            self.stats["timeout"] += 1
            await asyncio.sleep(cfg.hang_s)
        if draws["reset"] < cfg.rate_reset:
            self.stats["reset"] += 1
            if request.transport is not None:
                request.transport.abort()
            raise ConnectionResetError("fake reset")
        if draws["malformed"] < cfg.rate_malformed:
            self.stats["malformed"] += 1
            return web.Response(status=200, body=b'{"choices": [', content_type="application/json")
        if cfg.latency_s:
            await asyncio.sleep(cfg.latency_s)
        prompt_tokens = sum(len(t.split()) for t in texts)
        if draws["empty"] < cfg.rate_empty:
            self.stats["empty"] += 1
            payload = self._body(n, prompt_tokens, empty=True)
        elif draws["nul"] < cfg.rate_nul:
            self.stats["nul"] += 1
            payload = self._body(n, prompt_tokens).replace(b"The answer is", b"The\\u0000answer is")
        elif draws["length"] < cfg.rate_length:
            self.stats["length"] += 1
            payload = self._body(n, prompt_tokens, truncated=True)
        else:
            payload = self._body(n, prompt_tokens)
        return web.Response(body=payload, content_type="application/json", headers=headers)

    async def health(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def models(self, _request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": self.cfg.model, "object": "model"}]})

    async def get_stats(self, _request: web.Request) -> web.Response:
        return web.json_response({"requests": self.requests, "faults": dict(self.stats)})

    async def reset_stats(self, _request: web.Request) -> web.Response:
        self.requests = 0
        self.stats.clear()
        self.tries.clear()
        self.faulted.clear()
        return web.json_response({"requests": 0, "faults": {}})

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self.chat)
        app.router.add_get("/health", self.health)
        app.router.add_get("/v1/models", self.models)
        app.router.add_get("/stats", self.get_stats)
        app.router.add_post("/stats/reset", self.reset_stats)
        return app


def parse_args(argv: list[str] | None = None) -> FakeServerConfig:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for f in fields(FakeServerConfig):
        flag = "--" + f.name.replace("_", "-")
        if f.type == "bool":
            p.add_argument(flag, action="store_true")
        else:
            kind = {"int": int, "float": float}.get(f.type, str)
            p.add_argument(flag, type=kind, default=f.default)
    return FakeServerConfig(**vars(p.parse_args(argv)))


def serve(cfg: FakeServerConfig) -> None:
    web.run_app(FakeOpenAIServer(cfg).app(), host=cfg.host, port=cfg.port, print=None, access_log=None)


def main(argv: list[str] | None = None) -> None:
    serve(parse_args(argv))


def start_fake_server(port: int, *args: str, log_path: Path | None = None) -> subprocess.Popen:
    """Run the fake server as a subprocess on 127.0.0.1:port and wait until /health answers."""
    import httpx

    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 - the child keeps it
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.fake_openai_server", "--port", str(port), *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text()[-2000:] if log_path else ""
            raise RuntimeError(f"fake server exited with {proc.returncode}: {tail}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("fake server did not answer /health within 30 s")


def stop_fake_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


if __name__ == "__main__":
    main()
