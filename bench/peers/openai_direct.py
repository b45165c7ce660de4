"""The peer for bench/rollout_vllm.py, run with vLLM's own interpreter (which has the openai SDK): a
plain async loop of the openai SDK against the server, n samples per prompt, nothing stored. Prints one
JSON line: {"seconds", "completions", "tokens"}. TRANSPORT "aiohttp" puts the SDK on its aiohttp transport
(`openai[aiohttp]`, DefaultAioHttpClient; run it with an interpreter that has httpx-aiohttp); the default is
the SDK's httpx.

    python bench/peers/openai_direct.py BASE_URL MODEL PROMPTS_JSON N MAX_TOKENS TEMPERATURE CONCURRENCY
        [TRANSPORT]
"""

import asyncio
import json
import sys
import time

from openai import AsyncOpenAI


async def main() -> None:
    base, model, path = sys.argv[1], sys.argv[2], sys.argv[3]
    n, max_tokens, temperature, concurrency = (
        int(sys.argv[4]),
        int(sys.argv[5]),
        float(sys.argv[6]),
        int(sys.argv[7]),
    )
    prompts = json.load(open(path))
    kwargs = {}
    if sys.argv[8:9] == ["aiohttp"]:
        from openai import DefaultAioHttpClient

        kwargs["http_client"] = DefaultAioHttpClient(timeout=600)
    client = AsyncOpenAI(base_url=base, api_key="none", max_retries=0, timeout=600, **kwargs)
    sem = asyncio.Semaphore(concurrency)
    done = tokens = 0

    async def one(text: str) -> None:
        nonlocal done, tokens
        async with sem:
            r = await client.chat.completions.create(
                model=model,
                messages=[{"role": "user", "content": text}],
                n=n,
                max_tokens=max_tokens,
                temperature=temperature,
            )
        done += len(r.choices)
        tokens += r.usage.completion_tokens

    t0 = time.perf_counter()
    await asyncio.gather(*(one(p) for p in prompts))
    print(json.dumps({"seconds": time.perf_counter() - t0, "completions": done, "tokens": tokens}))


if __name__ == "__main__":
    asyncio.run(main())
