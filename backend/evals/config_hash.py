"""What makes an evaluation reproducible, hashed: the model's and tokenizer's files, the chat
template, sampling, seed, max lengths and the verifiers' versions. Two evaluations with one hash must
give the same numbers (a test re-runs one to check)."""

from __future__ import annotations

import hashlib
from functools import partial
from pathlib import Path
from typing import Any

import orjson

FILES = (
    "*.safetensors",
    "*.bin",
    "config.json",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.json",
    "merges.txt",
    "chat_template.*",
)


def file_hashes(model: str) -> dict[str, str]:
    """SHA-256 of each file that decides a local model's output; {} for a hub id or an endpoint."""
    folder = Path(model)
    if not folder.is_dir():
        return {}
    out = {}
    for pattern in FILES:
        for path in sorted(folder.glob(pattern)):
            h = hashlib.sha256()
            with path.open("rb") as fh:
                for block in iter(partial(fh.read, 1 << 20), b""):
                    h.update(block)
            out[path.name] = h.hexdigest()
    return out


def chat_template_hash(model: str) -> str | None:
    path = Path(model) / "tokenizer_config.json"
    if not path.is_file():
        return None
    template = orjson.loads(path.read_bytes()).get("chat_template")
    jinja = Path(model) / "chat_template.jinja"
    if template is None and jinja.is_file():
        template = jinja.read_text()
    return hashlib.sha256(str(template).encode()).hexdigest() if template is not None else None


def config_of(*, model: str, endpoint: dict[str, Any] | None, sampling: dict[str, Any],
              verifiers: dict[str, str]) -> dict[str, Any]:  # fmt: skip
    return {
        "model": model,
        "files": file_hashes(model),
        "chat_template": chat_template_hash(model),
        "endpoint": endpoint,
        "sampling": sampling,
        "verifiers": verifiers,
    }


def config_hash(config: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(config, option=orjson.OPT_SORT_KEYS)).hexdigest()


def local_params(model: str) -> int | None:
    """Parameters of a local safetensors model, read from the file headers (no weights loaded)."""
    files = sorted(Path(model).glob("*.safetensors")) if Path(model).is_dir() else []
    if not files:
        return None
    from safetensors import safe_open

    total = 0
    for path in files:
        with safe_open(str(path), framework="np") as f:
            for name in f.keys():  # noqa: SIM118 - safe_open is not a mapping
                shape = f.get_slice(name).get_shape()
                n = 1
                for d in shape:
                    n *= d
                total += n
    return total
