"""A stricter peer for bench/rollout_vllm.py: a bare aiohttp loop (the same HTTP stack the platform's
client uses), n samples per prompt, responses parsed with orjson and discarded. Same arguments and
output as openai_direct.py."""

import asyncio
import json
import sys
import time

import aiohttp
import orjson


async def main() -> None:
    base, model, path = sys.argv[1], sys.argv[2], sys.argv[3]
    n, max_tokens, temperature, concurrency = (
        int(sys.argv[4]),
        int(sys.argv[5]),
        float(sys.argv[6]),
        int(sys.argv[7]),
    )
    prompts = json.load(open(path))
    sem = asyncio.Semaphore(concurrency)
    done = tokens = 0

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:

        async def one(text: str) -> None:
            nonlocal done, tokens
            body = {"model": model, "messages": [{"role": "user", "content": text}], "n": n,
                    "max_tokens": max_tokens, "temperature": temperature}  # fmt: skip
            async with sem, http.post(f"{base}/chat/completions", data=orjson.dumps(body),
                                      headers={"Content-Type": "application/json"}) as r:  # fmt: skip
                data = orjson.loads(await r.read())
            done += len(data["choices"])
            tokens += data["usage"]["completion_tokens"]

        t0 = time.perf_counter()
        await asyncio.gather(*(one(p) for p in prompts))
    print(json.dumps({"seconds": time.perf_counter() - t0, "completions": done, "tokens": tokens}))


if __name__ == "__main__":
    asyncio.run(main())
