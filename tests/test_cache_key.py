"""The response cache's key: a local teacher retrained in place must not be answered from the cache."""

from __future__ import annotations

import os

import pytest

from backend.rollouts.requests import cache_prefix, endpoint_of
from backend.rollouts.schemas import RolloutSettings
from backend.teachers.models import Teacher

pytestmark = pytest.mark.pure  # no database, broker or worker: `make test-fast` runs it with both down


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


def test_an_auto_max_tokens_is_keyed_and_sent_as_resolved():
    from backend.rollouts.requests import resolve_max_tokens, resolved

    r1 = Teacher(name="t", backend="vllm", model="deepseek-ai/DeepSeek-R1-Distill-Qwen-7B")
    r1.settings = {"max_model_len": 8192}
    auto = RolloutSettings()
    assert resolved(auto, r1).max_tokens == 8192 and auto.max_tokens is None  # a copy, not a change
    assert resolve_max_tokens(auto, r1).source == "auto: teacher context length 8192"
    key = cache_prefix(project_id=1, teacher=r1, settings=auto)
    assert key == cache_prefix(project_id=1, teacher=r1, settings=RolloutSettings(max_tokens=8192))
    assert key != cache_prefix(project_id=1, teacher=r1, settings=RolloutSettings(max_tokens=1024))
    bare = Teacher(name="t", backend="openai_compat", model="m", base_url="http://x/v1")
    assert resolved(auto, bare).max_tokens == 16384
    assert resolve_max_tokens(RolloutSettings(max_tokens=64), r1).source == "set in the rollout"
