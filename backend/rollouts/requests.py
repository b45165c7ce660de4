"""What a rollout sends for a prompt row, and the response-cache key an attempt is stored under."""

from __future__ import annotations

import hashlib
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
    if system or default_system:
        out.append({"role": "system", "content": system or default_system})
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


def sampling_key(settings: RolloutSettings) -> dict[str, Any]:
    """The settings that change what the teacher writes (not chunking, concurrency or retries)."""
    return settings.model_dump(
        include={"temperature", "top_p", "max_tokens", "seed", "stop", "top_k", "min_p", "system_prompt"}
    )


def cache_prefix(*, project_id: int, teacher: Teacher, settings: RolloutSettings) -> bytes:
    """The part of every cache key that one rollout shares."""
    head = {
        "project": project_id,
        "endpoint": endpoint_of(teacher),
        "model": teacher.model,
        "sampling": sampling_key(settings),
    }
    return orjson.dumps(head, option=orjson.OPT_SORT_KEYS)


def cache_key(prefix: bytes, messages: list[dict[str, str]], attempt: int) -> str:
    """sha256 of (project, endpoint, model, sampling, prompt, attempt index)."""
    h = hashlib.sha256(prefix)
    h.update(orjson.dumps(messages))
    h.update(b"#%d" % attempt)
    return h.hexdigest()
