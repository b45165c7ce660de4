"""What every teacher backend takes and gives back: sampling settings in, completions out.

A backend gets a list of `Request`s (one conversation, n samples) and yields each request's
completions as soon as they are ready, so the rollout can write while the teacher keeps generating.
A failed sample comes back as a `Completion` with `error` set to its cause; nothing is dropped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from backend.core.egress import PROVIDER_SAYS
from backend.datasets.logprobs import TokenLogprobs

_OPEN, _CLOSE = "<think>", "</think>"


@dataclass(frozen=True)
class Sampling:
    """Sampling settings passed through to the teacher; top_k and min_p travel in vLLM's extra body."""

    temperature: float = 0.7
    top_p: float = 1.0
    max_tokens: int = 1024
    seed: int | None = None
    stop: tuple[str, ...] | None = None
    top_k: int | None = None
    min_p: float | None = None
    json_object: bool = False  # response_format json_object (a judge asking for a JSON verdict)
    logprobs: int | None = None  # top-K teacher logprobs per generated token (rollout.logprobs)
    token_ids: bool = False  # vLLM's return_tokens_as_token_ids: logprob tokens come back as token_id:N
    # vLLM's thinking-token budget (a server started with a reasoning parser ends the think block there)
    thinking_token_budget: int | None = None

    def openai_body(self) -> dict[str, Any]:
        """The request fields: the standard ones, then extra_body's (top_k, min_p) at the top level,
        as the OpenAI SDK sends them."""
        body: dict[str, Any] = {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
        }
        if self.seed is not None:
            body["seed"] = self.seed
        if self.stop:
            body["stop"] = list(self.stop)
        if self.top_k is not None:
            body["top_k"] = self.top_k
        if self.min_p is not None:
            body["min_p"] = self.min_p
        if self.thinking_token_budget is not None:
            body["thinking_token_budget"] = self.thinking_token_budget
        if self.json_object:
            body["response_format"] = {"type": "json_object"}
        if self.logprobs:
            body["logprobs"], body["top_logprobs"] = True, self.logprobs
            if self.token_ids:  # only vLLM knows it: OpenAI refuses a field it does not know
                body["return_tokens_as_token_ids"] = True
        return body

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["stop"] = list(self.stop) if self.stop else None
        if not self.logprobs:  # what evaluations hash: unchanged where logprobs are off
            del d["logprobs"], d["token_ids"]
        return d


@dataclass
class Completion:
    content: str | None
    reasoning: str | None = None
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_ms: int | None = None
    error: str | None = None  # the cause, when every try failed: "http 429 after 6 tries", "timeout ..."
    logprobs: TokenLogprobs | None = None  # asked for (Sampling.logprobs) and given by the teacher
    reasoning_tokens: int | None = None  # as the server counted them; else reasoning_token_count's estimate

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def truncated(self) -> bool:
        """The teacher stopped at max_tokens: the trace is cut short."""
        return self.finish_reason == "length"

    @property
    def cause(self) -> str | None:
        """The failure's kind without its counts, for grouping: 'http 429', 'timeout', 'empty content'."""
        if self.error is None:
            return None
        # without what a provider said (kept in `error`, shown to maintainers): one group per status
        return self.error.split(" after ")[0].split(PROVIDER_SAYS)[0].split(":")[0].strip()


def reasoning_token_count(c: Completion) -> int | None:
    """The reasoning part's tokens: the server's own count where it gave one (vLLM's
    completion_tokens_details.reasoning_tokens), else the completion's tokens split by the reasoning's
    share of the characters (no tokenizer here; exact when there is no reasoning or no answer)."""
    if c.reasoning_tokens is not None:
        return c.reasoning_tokens
    if not c.ok or c.completion_tokens is None:
        return None
    think, answer = len(c.reasoning or ""), len(c.content or "")
    if not think:
        return 0
    return round(c.completion_tokens * think / (think + answer))


@dataclass
class Request:
    """One conversation to sample n times; `key` is the caller's, handed back untouched."""

    key: Any
    messages: list[dict[str, str]]
    n: int = 1
    meta: dict[str, Any] = field(default_factory=dict)


def split_reasoning(content: str | None, reasoning: str | None) -> tuple[str | None, str | None]:
    """(content, reasoning): reasoning as the server gave it (vLLM's reasoning parsers, DeepSeek's API),
    else taken from the content:

    - a leading <think>...</think> block;
    - an unclosed leading <think>: a trace cut at max_tokens, all reasoning and no answer;
    - a </think> with no <think> before it: an R1-style teacher served without a reasoning parser,
      whose chat template ends the prompt with "<think>\\n", so the text starts inside the block.

    Text with no tags at all stays content: nothing tells reasoning from answer there (an R1 trace cut
    before its </think> looks like this; finish_reason "length" still marks it truncated).
    """
    if not content or reasoning is not None:
        return content, reasoning
    # String searches, not a regex: a lazy `<think>(.*?)</think>` match tried the close at every
    # character of a 2 KB trace and was 8% of a rollout worker's event loop (bench/RESULTS.md).
    body = content.lstrip()
    if body.startswith(_OPEN):
        head, closed, answer = body[len(_OPEN) :].partition(_CLOSE)
        if closed:
            return answer.lstrip(), head.strip()
        # unclosed: the old pattern's `$` stopped before one final newline and left it as content
        return ("\n" if head.endswith("\n") else ""), head.strip()
    head, closed, answer = content.partition(_CLOSE)
    if closed and _OPEN not in head:
        return answer.lstrip(), head.strip()
    return content, reasoning


class TeacherBackend(Protocol):
    """One interface for openai_compat, vllm and transformers_local."""

    name: str

    def generate(self, requests: list[Request]) -> AsyncIterator[tuple[Request, list[Completion]]]:
        """Yield (request, its n completions) for every request, in completion order."""
        ...

    @property
    def gpu_seconds(self) -> float:
        """Accelerator time spent so far, for local teachers' cost; 0 for remote APIs."""
        ...

    async def aclose(self) -> None: ...
