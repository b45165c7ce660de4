"""What makes an evaluation reproducible, hashed: the model's and tokenizer's files, the chat
template, sampling, seed, max lengths and the verifiers' versions; for a benchmark, also every file of
the task suite and the harness's version. Two evaluations with one hash must give the same numbers (a
test re-runs one to check)."""

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


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(partial(fh.read, 1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_hashes(model: str) -> dict[str, str]:
    """SHA-256 of each file that decides a local model's output; {} for a hub id or an endpoint."""
    folder = Path(model)
    if not folder.is_dir():
        return {}
    return {path.name: _sha256(path) for pattern in FILES for path in sorted(folder.glob(pattern))}


def suite_hashes(folder: str | Path) -> dict[str, str]:
    """SHA-256 of every file of a benchmark suite folder (task YAMLs, their data, any Python they
    import), by path relative to it: a changed answer key or prompt template is another benchmark."""
    root = Path(folder)
    return {
        path.relative_to(root).as_posix(): _sha256(path)
        for path in sorted(root.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def benchmark_config_of(*, model: str, endpoint: dict[str, Any] | None, suite: str, task: str,
                        harness: dict[str, str], settings: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """What decides one model's score on one task: its files, the suite's files, the harness's version
    (`harness`: {"lm_eval": "0.4.13"}) and the stage's settings that reach the harness."""
    return {
        "model": model,
        "files": file_hashes(model),
        "chat_template": chat_template_hash(model),
        "endpoint": endpoint,
        "suite": suite_hashes(suite),
        "task": task,
        "harness": harness,
        "settings": settings,
    }


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
