"""Any OpenAI-compatible chat endpoint: OpenAI, Together, DeepSeek, Fireworks, OpenRouter, vLLM, SGLang,
Ollama, `transformers serve`.

Async with bounded concurrency; 429, 5xx, timeouts and resets are retried with exponential backoff and
jitter (Retry-After honoured); after the last try the attempt comes back as failed with its cause, never
dropped. Reasoning is taken from `reasoning_content` / `reasoning` (DeepSeek, vLLM's reasoning parsers)
or from <think>...</think> in the content.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
_THINK = re.compile(r"^\s*<think>(.*?)</think>\s*", re.S)


@dataclass
class Completion:
    content: str | None
    reasoning: str | None = None
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_ms: int | None = None
    error: str | None = None  # set when every try failed: the cause, e.g. "http 429" or "timeout"

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class OpenAICompatClient:
    base_url: str
    model: str
    api_key: str | None = None
    concurrency: int = 16
    max_retries: int = 5
    timeout_s: float = 120.0
    backoff_s: float = 0.5
    sampling: dict[str, Any] = field(default_factory=dict)  # temperature, top_p, max_tokens, seed, stop...

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    async def chat_many(
        self, conversations: list[list[dict[str, str]]], n: int = 1
    ) -> list[list[Completion]]:
        """n completions for each conversation, in order; failures are returned, not raised."""
        sem = asyncio.Semaphore(self.concurrency)
        async with httpx.AsyncClient(
            base_url=self.base_url.rstrip("/"), timeout=self.timeout_s, headers=self._headers()
        ) as http:

            async def one(messages):
                async with sem:
                    return await self._chat(http, messages, n)

            return await asyncio.gather(*(one(m) for m in conversations))

    async def _chat(
        self, http: httpx.AsyncClient, messages: list[dict[str, str]], n: int
    ) -> list[Completion]:
        body = {"model": self.model, "messages": messages, "n": n, **self.sampling}
        cause = "unknown"
        for attempt in range(self.max_retries + 1):
            started = time.monotonic()
            wait = None
            try:
                resp = await http.post("/chat/completions", json=body)
                if resp.status_code == 200:
                    out = self._parse(resp.json(), n, int((time.monotonic() - started) * 1000))
                    if out is not None:
                        return out
                    cause = "empty content"  # providers under load sometimes answer nothing: retry
                elif resp.status_code in RETRY_STATUS:
                    cause = f"http {resp.status_code}"
                    wait = _retry_after(resp)
                else:
                    msg = resp.text[:300]
                    return [Completion(None, error=f"http {resp.status_code}: {msg}")] * n
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                cause = (
                    "timeout"
                    if isinstance(exc, httpx.TimeoutException)
                    else f"connection: {type(exc).__name__}"
                )
            except ValueError:
                cause = "malformed response"
            if attempt < self.max_retries:
                await asyncio.sleep(
                    wait if wait is not None else self.backoff_s * 2**attempt * random.uniform(0.5, 1.5)
                )
        return [Completion(None, error=f"{cause} after {self.max_retries + 1} tries") for _ in range(n)]

    @staticmethod
    def _parse(data: dict[str, Any], n: int, latency_ms: int) -> list[Completion] | None:
        choices = data.get("choices") or []
        usage = data.get("usage") or {}
        out = []
        for ch in choices:
            msg = ch.get("message") or {}
            content = msg.get("content")
            reasoning = msg.get("reasoning_content") or msg.get("reasoning")
            if content and reasoning is None and (m := _THINK.match(content)):
                reasoning, content = m.group(1).strip(), content[m.end() :]
            if not content or not content.strip():
                return None
            out.append(
                Completion(
                    content,
                    reasoning,
                    ch.get("finish_reason"),
                    usage.get("prompt_tokens"),
                    usage.get("completion_tokens"),
                    latency_ms,
                )
            )
        if not out:
            return None
        return out[:n]


def _retry_after(resp: httpx.Response) -> float | None:
    value = resp.headers.get("retry-after")
    try:
        return min(float(value), 60.0) if value is not None else None
    except ValueError:
        return None
