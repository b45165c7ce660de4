"""A local teacher starts only when a chunk has work left after the response cache: a fully cached
vLLM rollout never starts vLLM (27 s on the CPU build, minutes of loading on a GPU host)."""

from __future__ import annotations

import asyncio

import pytest

from workers.teachers import vllm_server
from workers.teachers.base import Request, Sampling
from workers.teachers.factory import TeacherSpec, make_teacher

pytestmark = pytest.mark.pure  # no database, broker or worker: `make test-fast` runs it with both down


async def _all(teacher, requests):
    return [item async for item in teacher.generate(requests)]


def test_a_vllm_teacher_with_nothing_to_ask_starts_no_server(monkeypatch):
    starts: list[str] = []

    def acquire(spec):
        starts.append(spec.model)
        raise RuntimeError("would start vLLM now")

    monkeypatch.setattr(vllm_server, "acquire", acquire)
    spec = TeacherSpec(
        backend="vllm", model="tiny", base_url=None, api_key=None, settings={"dtype": "float32"}
    )
    teacher = make_teacher(spec, Sampling(max_tokens=8))
    assert asyncio.run(_all(teacher, [])) == [] and starts == []  # the cache answered everything
    assert teacher.gpu_seconds == 0.0
    asyncio.run(teacher.aclose())
    with pytest.raises(RuntimeError, match="would start vLLM now"):
        asyncio.run(_all(teacher, [Request(key=1, messages=[{"role": "user", "content": "hi"}], n=1)]))
    assert starts == ["tiny"]


def test_bad_vllm_settings_still_fail_before_any_work():
    spec = TeacherSpec(
        backend="vllm", model="tiny", base_url=None, api_key=None, settings={"tensor_parallel_size": 0}
    )
    with pytest.raises(ValueError, match="tensor_parallel_size"):
        make_teacher(spec, Sampling(max_tokens=8))
