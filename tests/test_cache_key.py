"""The response cache's key: a local teacher retrained in place must not be answered from the cache."""

from __future__ import annotations

import os

from backend.rollouts.requests import cache_prefix, endpoint_of
from backend.rollouts.schemas import RolloutSettings
from backend.teachers.models import Teacher


def _teacher(model: str, backend: str = "transformers_local", base_url: str | None = None) -> Teacher:
    return Teacher(name="t", backend=backend, model=model, base_url=base_url)


def test_local_teacher_key_follows_its_weights(tmp_path):
    (tmp_path / "config.json").write_text('{"hidden_size": 8}')
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"first weights")
    settings = RolloutSettings()
    first = cache_prefix(project_id=1, teacher=_teacher(str(tmp_path)), settings=settings)
    assert cache_prefix(project_id=1, teacher=_teacher(str(tmp_path)), settings=settings) == first

    weights.write_bytes(b"other weights")  # retrained in place: same path, new files
    st = weights.stat()
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    second = cache_prefix(project_id=1, teacher=_teacher(str(tmp_path)), settings=settings)
    assert second != first
    (tmp_path / "notes.txt").write_text("not a model file")  # files that do not decide the output
    assert cache_prefix(project_id=1, teacher=_teacher(str(tmp_path)), settings=settings) == second


def test_hub_ids_and_endpoints_keep_their_names():
    assert endpoint_of(_teacher("Qwen/Qwen2.5-0.5B-Instruct", backend="vllm")) == "vllm"
    remote = _teacher("deepseek-chat", backend="openai_compat", base_url="https://api.deepseek.com/v1/")
    assert endpoint_of(remote) == "https://api.deepseek.com/v1"
