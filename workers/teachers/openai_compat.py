"""Any OpenAI-compatible chat endpoint: OpenAI, Together, DeepSeek, Fireworks, OpenRouter, vLLM, SGLang,
Ollama, `transformers serve`.

- Bounded concurrency on one aiohttp session (httpx costs about 3x more CPU per request, and one
  worker process must store well over 1,000 completions a second).
- 429, 5xx, timeouts and connection resets are retried with exponential backoff and jitter;
  Retry-After and the x-ratelimit-* headers pause every request of the client, not just the one
  that hit the limit. After the last try the attempt comes back failed with its cause, never dropped.
- n samples per request; where a provider ignores n (answers one choice), the rest are asked for
  one at a time, and later requests go straight to single samples.
- Reasoning from `reasoning_content` / `reasoning` (DeepSeek, vLLM's reasoning parsers), else from the
  content: a leading <think>...</think>, or the text before a </think> that no <think> opened (an R1
  template opens it in the prompt; see base.split_reasoning). Empty content under load is retried, not
  stored as an answer.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

from backend.core.egress import PROVIDER_SAYS, EgressPolicy, EgressRefused
from backend.core.logging import scrub
from backend.datasets.logprobs import TokenLogprobs
from workers.teachers import egress
from workers.teachers.base import Completion, Request, Sampling, split_reasoning

log = logging.getLogger(__name__)

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
MAX_PAUSE_S = 60.0


def parse_duration(value: str | None) -> float | None:
    """Seconds in an x-ratelimit-reset-* value: "1s", "6m0s", "20ms", "0.42s", or a bare number."""
    if not value:
        return None
    value = value.strip()
    try:
        return float(value)
    except ValueError:
        pass
    parts = _DURATION.findall(value)
    if not parts:
        return None
    return sum(float(n) * _UNIT_S[u] for n, u in parts)


class RateGate:
    """Shared pause for all requests of one client, set from Retry-After and x-ratelimit-* headers."""

    def __init__(self, low_water: int = 1):
        self.low_water = low_water  # pause once this few requests (or tokens) are left in the window
        self._until = 0.0
        self.pauses = 0

    async def wait(self) -> None:
        while (delay := self._until - time.monotonic()) > 0:
            await asyncio.sleep(delay)

    def pause(self, seconds: float) -> None:
        until = time.monotonic() + min(max(seconds, 0.0), MAX_PAUSE_S)
        if until > self._until:
            self._until = until
            self.pauses += 1

    def observe(self, headers: Any) -> None:
        """Pause until the window resets when the provider says requests or tokens are running out."""
        for kind in ("requests", "tokens"):
            remaining = headers.get(f"x-ratelimit-remaining-{kind}")
            if remaining is None:
                continue
            try:
                left = float(remaining)
            except ValueError:
                continue
            if left < self.low_water:
                reset = parse_duration(headers.get(f"x-ratelimit-reset-{kind}"))
                if reset:
                    self.pause(reset)


@dataclass
class OpenAICompatClient:
    base_url: str
    model: str
    api_key: str | None = None
    concurrency: int = 16
    max_retries: int = 5
    timeout_s: float = 120.0
    backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    sampling: Sampling = field(default_factory=Sampling)
    name: str = "openai_compat"
    n_supported: bool | None = None  # None until a response with n > 1 tells
    gate: RateGate = field(default_factory=RateGate)
    # None only for a vLLM server this worker started itself on loopback (workers/teachers/factory.py)
    egress: EgressPolicy | None = field(default_factory=lambda: EgressPolicy.current())
    _http: aiohttp.ClientSession | None = field(default=None, init=False, repr=False)
    _sem: asyncio.Semaphore | None = field(default=None, init=False, repr=False)
    _checked: tuple[Any, str] = field(default=(None, ""), init=False, repr=False)  # (policy, URL) passed

    @property
    def gpu_seconds(self) -> float:
        return 0.0  # a remote endpoint bills tokens, not our accelerator time

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            headers = {"Content-Type": "application/json"}
            if self.api_key:
                headers["Authorization"] = f"Bearer {self.api_key}"
            self._http = aiohttp.ClientSession(
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout_s),
                connector=egress.connector(self.egress, limit=self.concurrency, ttl_dns_cache=300),
            )
            self._sem = asyncio.Semaphore(self.concurrency)
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def generate(self, requests: list[Request]) -> AsyncIterator[tuple[Request, list[Completion]]]:
        """Yield each request with its n completions as soon as they are in."""
        self._session()

        async def one(req: Request) -> tuple[Request, list[Completion]]:
            return req, await self.complete(req.messages, req.n)

        tasks = [asyncio.ensure_future(one(r)) for r in requests]
        finished: asyncio.Queue[asyncio.Future] = asyncio.Queue()
        for t in tasks:  # as_completed, without its coroutine per answer
            t.add_done_callback(finished.put_nowait)
        try:
            for _ in tasks:
                yield (await finished.get()).result()
        finally:
            for t in tasks:
                t.cancel()  # a cancelled rollout stops paying for what it will not store
            await asyncio.gather(*tasks, return_exceptions=True)

    async def chat_many(
        self, conversations: list[list[dict[str, str]]], n: int = 1
    ) -> list[list[Completion]]:
        """n completions for each conversation, in order; failures are returned, not raised."""
        try:
            self._session()
            return list(await asyncio.gather(*(self.complete(m, n) for m in conversations)))
        finally:
            await self.aclose()

    async def complete(self, messages: list[dict[str, str]], n: int) -> list[Completion]:
        """n completions of one conversation, falling back to single samples where n is ignored."""
        if n > 1 and self.n_supported is False:
            singles = await asyncio.gather(*(self._request(messages, 1) for _ in range(n)))
            return [c for group in singles for c in group]
        out = await self._request(messages, n)
        if len(out) < n and out and out[0].ok:
            if self.n_supported is None:
                log.info("%s answered %d of n=%d choices; asking one at a time", self.base_url, len(out), n)
            self.n_supported = False
            rest = await asyncio.gather(*(self._request(messages, 1) for _ in range(n - len(out))))
            out += [c for group in rest for c in group]
        elif n > 1 and len(out) == n and out[0].ok:
            self.n_supported = True
        return out[:n]

    async def _request(self, messages: list[dict[str, str]], n: int) -> list[Completion]:
        http = self._session()
        body = {"model": self.model, "messages": messages, **self.sampling.openai_body()}
        if n != 1:
            body["n"] = n
        payload = orjson.dumps(body)
        url = self.base_url.rstrip("/") + "/chat/completions"
        if self.egress is not None and not (
            self._checked[0] is self.egress and self._checked[1] == self.base_url
        ):
            try:  # scheme, '#', userinfo, a literal IP: aiohttp never resolves an IP, so check it here
                self.egress.check_url(self.base_url)
            except EgressRefused as exc:
                return [Completion(None, error=str(exc)) for _ in range(n)]
            # once per (policy, URL): parsing the URL and its host for every request was 8% of a
            # rollout worker's event loop (bench/RESULTS.md); a refused URL is checked again each time
            self._checked = (self.egress, self.base_url)
        cause = "unknown"
        assert self._sem is not None
        for attempt in range(self.max_retries + 1):
            wait = None
            async with self._sem:
                await self.gate.wait()
                started = time.monotonic()
                try:
                    # never follow a redirect: a 303 turns the POST into a GET of whatever it names
                    async with http.post(url, data=payload, allow_redirects=False) as resp:
                        raw = await resp.read()
                        self.gate.observe(resp.headers)
                        if resp.status == 200:
                            out = _parse(orjson.loads(raw), int((time.monotonic() - started) * 1000))
                            if out:
                                return out
                            cause = "empty content"  # providers under load sometimes answer nothing
                        elif resp.status in RETRY_STATUS:
                            cause = f"http {resp.status}"
                            wait = _retry_after(resp.headers)
                            if resp.status == 429:
                                self.gate.pause(wait if wait is not None else self._backoff(attempt))
                        elif 300 <= resp.status < 400:
                            error = f"http {resp.status}: the endpoint redirected; redirects are not followed"
                            return [Completion(None, error=error) for _ in range(n)]
                        else:
                            # scrubbed before the cut: a provider may echo the key back in its error body;
                            # the API shows what follows PROVIDER_SAYS to maintainers only
                            msg = scrub(raw[:4000].decode("utf-8", "replace"), self.api_key)[:300]
                            error = f"http {resp.status}{PROVIDER_SAYS}{msg}"
                            return [Completion(None, error=error) for _ in range(n)]
                except EgressRefused as exc:  # the resolver's check at connect time: never retried
                    return [Completion(None, error=str(exc)) for _ in range(n)]
                except TimeoutError:
                    cause = "timeout"
                except aiohttp.ClientError as exc:
                    if (refused := egress.refusal(exc)) is not None:
                        return [Completion(None, error=str(refused)) for _ in range(n)]
                    cause = f"connection: {type(exc).__name__}"
                except ValueError:  # orjson.JSONDecodeError, or a body of the wrong shape
                    cause = "malformed response"
            if attempt < self.max_retries:
                await asyncio.sleep(wait if wait is not None else self._backoff(attempt))
        return [Completion(None, error=f"{cause} after {self.max_retries + 1} tries") for _ in range(n)]

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff_s * 2**attempt, self.max_backoff_s) * random.uniform(0.5, 1.5)


def _parse(data: dict[str, Any], latency_ms: int) -> list[Completion] | None:
    """Completions of one response, or None where any choice came back empty (retried as a whole)."""
    if not isinstance(data, dict):
        raise ValueError("response is not a JSON object")
    choices = data.get("choices") or []
    usage = data.get("usage") or {}
    prompt_tokens = usage.get("prompt_tokens")
    total_out = usage.get("completion_tokens")
    # vLLM counts reasoning tokens over all choices; per choice only when there is one
    details = usage.get("completion_tokens_details") or {}
    think = details.get("reasoning_tokens") if len(choices) == 1 else None
    out = []
    for i, ch in enumerate(choices):
        msg = ch.get("message") or {}
        content, reasoning = split_reasoning(
            msg.get("content"), msg.get("reasoning_content") or msg.get("reasoning")
        )
        finish = ch.get("finish_reason")
        if not (content and content.strip()) and not (finish == "length" and reasoning):
            return None  # a trace cut inside <think> is kept (truncated); an empty answer is not
        share = None
        if total_out is not None and choices:
            share = total_out // len(choices) + (1 if i < total_out % len(choices) else 0)
        out.append(
            Completion(content, reasoning, finish, prompt_tokens, share, latency_ms, reasoning_tokens=think)
        )
        out[-1].logprobs = token_logprobs(ch.get("logprobs"))
    return out or None


def _token_id(token: Any) -> int:
    """vLLM's return_tokens_as_token_ids form, "token_id:1234"; anything else raises ValueError."""
    if not isinstance(token, str) or not token.startswith("token_id:"):
        raise ValueError("not a token id")
    return int(token[len("token_id:") :])


def token_logprobs(data: Any) -> TokenLogprobs | None:
    """A choice's OpenAI-shaped `logprobs` as token ids and top-K (descending), or None where there are
    none or the tokens are strings (a provider's: without the teacher's tokenizer they map to no id)."""
    content = data.get("content") if isinstance(data, dict) else None
    if not content:
        return None
    try:
        ids, top_ids, top_lps = [], [], []
        for step in content:
            ids.append(_token_id(step["token"]))
            tops = sorted(
                (
                    (_token_id(t["token"]), max(float(t["logprob"]), -1e4))
                    for t in step.get("top_logprobs") or ()
                ),
                key=lambda pair: -pair[1],
            )
            top_ids.append([i for i, _ in tops])
            top_lps.append([lp for _, lp in tops])
    except (ValueError, KeyError, TypeError):
        return None
    return TokenLogprobs(ids, top_ids, top_lps)


def _retry_after(headers: Any) -> float | None:
    value = headers.get("retry-after")
    try:
        return min(float(value), MAX_PAUSE_S) if value is not None else None
    except ValueError:
        return None
