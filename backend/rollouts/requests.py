"""What a rollout sends for a prompt row, and the response-cache key an attempt is stored under."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from backend.evals.config_hash import FILES, file_hashes
from backend.rollouts.schemas import RolloutSettings
from backend.teachers.models import Teacher


def conversation(
    text: str, system: str | None, messages: list[dict[str, Any]] | None, default_system: str | None
) -> list[dict[str, str]]:
    """The chat a prompt row sends: its own messages if it has them, else system + user text."""
    if messages:
        if default_system and not any(m.get("role") == "system" for m in messages):
            return [{"role": "system", "content": default_system}, *messages]
        return messages
    out = []
    if head := system or default_system:
        out.append({"role": "system", "content": head})
    out.append({"role": "user", "content": text})
    return out


def endpoint_of(teacher: Teacher) -> str:
    """What identifies where generations come from, for the cache key. A local teacher's folder is
    identified by its files' hashes too: weights retrained in place must not be answered from the cache."""
    if teacher.base_url:
        return teacher.base_url.rstrip("/")
    digest = local_model_digest(teacher.model)
    return f"{teacher.backend}:{digest}" if digest else teacher.backend  # a hub id: the model name says it


_digests: dict[tuple, str] = {}


def local_model_digest(model: str) -> str | None:
    """sha256 over the hashes of the files that decide a local model's output (None for a hub id).
    Memoised by the files' sizes and modification times, so a big model is hashed once per process."""
    folder = Path(model)
    if not folder.is_dir():
        return None
    stats = tuple(
        (p.name, st.st_size, st.st_mtime_ns)
        for pattern in FILES
        for p in sorted(folder.glob(pattern))
        for st in [p.stat()]
    )
    key = (str(folder.resolve()), stats)
    if key not in _digests:
        files = orjson.dumps(file_hashes(model), option=orjson.OPT_SORT_KEYS)
        _digests[key] = hashlib.sha256(files).hexdigest()
    return _digests[key]


# max_tokens when the rollout leaves it unset and the teacher's context length is unknown: room for an
# R1-style trace (6k-32k tokens). The old fixed 1024 cut nearly every reasoning trace short.
DEFAULT_MAX_TOKENS = 16_384


@dataclass(frozen=True)
class MaxTokens:
    value: int
    source: str  # "set in the rollout", "auto: teacher context length N", "auto: default 16384"
    detail: str  # where a context length was read, or what would make auto find one


def context_length(teacher: Teacher) -> tuple[int, str] | None:
    """The teacher's context length and where it was read, where anything knows it: a vllm teacher's
    max_model_len setting (the server the worker starts gets it), else the probe's reading of the
    server's /v1/models (vLLM reports max_model_len there)."""
    setting = (teacher.settings or {}).get("max_model_len")
    if isinstance(setting, int) and setting > 0:
        return setting, "the teacher's max_model_len setting"
    probed = (teacher.probe or {}).get("context_length")
    if isinstance(probed, int) and probed > 0:
        return probed, "its server's /v1/models, read by the last speed probe"
    return None


def native_budget(backend: str, teacher_settings: dict[str, Any] | None) -> bool:
    """Whether the teacher's server takes vLLM's thinking_token_budget: a vllm teacher started with a
    reasoning parser (vLLM 0.32 refuses the field without one: input_processor.py)."""
    return backend == "vllm" and bool((teacher_settings or {}).get("reasoning_parser"))


def resolve_max_tokens(settings: RolloutSettings, teacher: Teacher) -> MaxTokens:
    """The one place a rollout's max_tokens is decided, for the requests, the cache key and the estimate.

    Auto sends the whole context length: vLLM caps each request at what its prompt leaves of
    max_model_len (get_max_tokens in vllm/entrypoints/serve/utils/api_utils.py, 0.32). A reasoning
    budget the server cannot take caps it at budget + answer allowance (an attempt cut there is truncated)."""
    cap = _max_tokens(settings, teacher)
    budget = settings.reasoning_budget
    if budget is None or native_budget(teacher.backend, teacher.settings):
        return cap
    fallback = budget + settings.answer_tokens
    if fallback >= cap.value:
        return cap
    return MaxTokens(
        fallback,
        f"reasoning budget {budget} + answer_tokens {settings.answer_tokens}",
        "rollout.reasoning_budget: this teacher takes no thinking-token budget (a vllm teacher with a "
        "reasoning_parser does)",
    )


def _max_tokens(settings: RolloutSettings, teacher: Teacher) -> MaxTokens:
    if settings.max_tokens is not None:
        return MaxTokens(settings.max_tokens, "set in the rollout", "rollout.max_tokens")
    found = context_length(teacher)
    if found is not None:
        return MaxTokens(found[0], f"auto: teacher context length {found[0]}", found[1])
    return MaxTokens(
        DEFAULT_MAX_TOKENS,
        f"auto: default {DEFAULT_MAX_TOKENS}",
        "the teacher's context length is unknown (set a vllm teacher's max_model_len, or run the probe "
        "against a vLLM server)",
    )


def resolved(settings: RolloutSettings, teacher: Teacher) -> RolloutSettings:
    """The settings with max_tokens decided: what a chunk sends."""
    return settings.model_copy(update={"max_tokens": resolve_max_tokens(settings, teacher).value})


def sampling_key(settings: RolloutSettings) -> dict[str, Any]:
    """The settings that change what the teacher writes (not chunking, concurrency or retries). The
    reasoning budget is keyed only when set, so earlier rollouts' cache keys stay what they were."""
    key = settings.model_dump(
        include={"temperature", "top_p", "max_tokens", "seed", "stop", "top_k", "min_p", "system_prompt"}
    )
    if settings.reasoning_budget is not None:
        key["reasoning_budget"] = settings.reasoning_budget
    return key


def cache_prefix(*, project_id: int, teacher: Teacher, settings: RolloutSettings) -> bytes:
    """The part of every cache key that one rollout shares. max_tokens is keyed as resolved, so an auto
    rollout and one that set the same number share their generations."""
    head = {
        "project": project_id,
        "endpoint": endpoint_of(teacher),
        "model": teacher.model,
        "sampling": sampling_key(resolved(settings, teacher)),
    }
    return orjson.dumps(head, option=orjson.OPT_SORT_KEYS)


def cache_key(prefix: bytes, messages: list[dict[str, str]], attempt: int) -> str:
    """sha256 of (project, endpoint, model, sampling, prompt, attempt index)."""
    h = hashlib.sha256(prefix)
    h.update(orjson.dumps(messages))
    h.update(b"#%d" % attempt)
    return h.hexdigest()
