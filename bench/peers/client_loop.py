"""One OpenAI-compatible client against a server, alone in its process, for bench/rollout_overhead.py's
client comparison: the same conversations, n samples each, the same concurrency, the same work per answer
(content and reasoning split into Completion objects). Prints one JSON line: {"seconds", "cpu_s",
"completions", "reasoning_chars"}; cpu_s is this process's CPU time for the requests (the server runs
elsewhere).

    python bench/peers/client_loop.py {ours|sdk-aiohttp|sdk-httpx} BASE_URL REQUESTS CONCURRENCY N

- ours: workers.teachers.openai_compat.OpenAICompatClient.chat_many (aiohttp, orjson).
- sdk-aiohttp: the openai SDK's AsyncOpenAI on its aiohttp transport (`openai[aiohttp]`,
  DefaultAioHttpClient), no retries, a semaphore for the concurrency.
- sdk-httpx: the same on the SDK's default httpx transport.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from workers.teachers.base import Completion, Sampling, split_reasoning  # noqa: E402

SAMPLING = Sampling(temperature=0.7, max_tokens=1024)


def conversations(n: int) -> list[list[dict[str, str]]]:
    return [[{"role": "user", "content": f"Problem {i}: what is {i} + {i % 97}?"}] for i in range(n)]


async def ours(base: str, convs, concurrency: int, n: int) -> list[list[Completion]]:
    from workers.teachers.openai_compat import OpenAICompatClient

    client = OpenAICompatClient(
        base_url=base, model="fake-teacher", concurrency=concurrency, max_retries=0, sampling=SAMPLING
    )
    return await client.chat_many(convs, n=n)


async def sdk(base: str, convs, concurrency: int, n: int, transport: str) -> list[list[Completion]]:
    import httpx
    from openai import AsyncOpenAI, DefaultAioHttpClient

    http = (
        DefaultAioHttpClient(timeout=120)
        if transport == "aiohttp"
        else httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=concurrency))
    )
    sem = asyncio.Semaphore(concurrency)
    body = SAMPLING.openai_body()

    async with AsyncOpenAI(base_url=base, api_key="none", max_retries=0, http_client=http) as client:

        async def one(messages) -> list[Completion]:
            async with sem:
                started = time.monotonic()
                r = await client.chat.completions.create(model="fake-teacher", messages=messages, n=n, **body)
            latency = int((time.monotonic() - started) * 1000)
            out = []
            for ch in r.choices:
                extra = ch.message.model_extra or {}
                content, reasoning = split_reasoning(
                    ch.message.content, extra.get("reasoning_content") or extra.get("reasoning")
                )
                tokens = r.usage.completion_tokens // len(r.choices) if r.usage else None
                out.append(
                    Completion(
                        content,
                        reasoning,
                        ch.finish_reason,
                        r.usage.prompt_tokens if r.usage else None,
                        tokens,
                        latency,
                    )
                )
            return out

        return list(await asyncio.gather(*(one(m) for m in convs)))


def main() -> None:
    which, base, requests, concurrency, n = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])
    convs = conversations(requests)
    if which == "ours":
        run = ours(base, convs, concurrency, n)
    else:
        run = sdk(base, convs, concurrency, n, which.removeprefix("sdk-"))
    t0, c0 = time.perf_counter(), time.process_time()
    results = asyncio.run(run)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    done = [c for group in results for c in group if c.ok]
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu_s": cpu,
                "completions": len(done),
                "reasoning_chars": sum(len(c.reasoning or "") for c in done),
            }
        )
    )


if __name__ == "__main__":
    main()
