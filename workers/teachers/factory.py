"""Build the backend a teacher row names: openai_compat, vllm (a server this worker starts, or one
already running at base_url) or transformers_local."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import object_session

from backend.core.egress import EgressPolicy
from backend.teachers.models import Teacher
from backend.teachers.schemas import runs_locally
from backend.teachers.service import api_key_of
from backend.training.model_refs import resolve_model
from workers.teachers.base import Completion, Request, Sampling, TeacherBackend


@dataclass(frozen=True)
class TeacherSpec:
    """What a worker needs of a teacher row, read inside a session and used after it closes."""

    backend: str
    model: str
    base_url: str | None
    api_key: str | None
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def queue(self) -> str:
        """Local inference needs the gpu queue; an endpoint (API or a running vLLM) the cpu one."""
        return "gpu" if runs_locally(self.backend, self.base_url) else "cpu"


def teacher_spec(teacher: Teacher) -> TeacherSpec:
    """Read inside the teacher's session. A model the worker loads itself is resolved (artifact:<id>) and
    checked against the allowed roots again here: they may have changed since the teacher was saved."""
    model = teacher.model
    if runs_locally(teacher.backend, teacher.base_url):
        session = object_session(teacher)
        if session is None:
            raise RuntimeError(f"teacher {teacher.id} is read outside its session: it cannot be resolved")
        model = resolve_model(session, teacher.project_id, model, field=f"teacher {teacher.name!r}: model")
    return TeacherSpec(teacher.backend, model, teacher.base_url, api_key_of(teacher), teacher.settings)


class HeldDevice:
    """Counts wall time inside generate() as GPU-seconds: a server this worker started holds its
    accelerators for as long as it generates, each of them (`devices`: a tensor-parallel teacher's
    hour on 4 GPUs is 4 GPU-hours at the teacher's gpu_hour price)."""

    def __init__(self, inner: TeacherBackend, devices: int = 1):
        self.inner, self.name, self._seconds, self.devices = inner, inner.name, 0.0, max(devices, 1)

    async def generate(self, requests: list[Request]) -> AsyncIterator[tuple[Request, list[Completion]]]:
        started = time.monotonic()
        try:
            async for item in self.inner.generate(requests):
                yield item
        finally:
            self._seconds += (time.monotonic() - started) * self.devices

    @property
    def gpu_seconds(self) -> float:
        return self._seconds

    async def aclose(self) -> None:
        await self.inner.aclose()


class LazyTeacher:
    """A local teacher built on the first request that has work: a chunk the response cache answered
    whole never starts vLLM (minutes of model loading on a GPU host) or loads transformers weights."""

    def __init__(self, name: str, build: Callable[[], TeacherBackend]):
        self.name, self._build = name, build
        self._inner: TeacherBackend | None = None

    @property
    def started(self) -> bool:
        return self._inner is not None

    async def generate(self, requests: list[Request]) -> AsyncIterator[tuple[Request, list[Completion]]]:
        if not requests:
            return
        if self._inner is None:
            self._inner = await asyncio.to_thread(self._build)  # a server start blocks: off the loop
        async for item in self._inner.generate(requests):
            yield item

    @property
    def gpu_seconds(self) -> float:
        return self._inner.gpu_seconds if self._inner is not None else 0.0

    async def aclose(self) -> None:
        if self._inner is not None:
            await self._inner.aclose()


def make_teacher(
    spec: TeacherSpec,
    sampling: Sampling,
    *,
    concurrency: int = 64,
    max_retries: int = 5,
    timeout_s: float = 600,
) -> TeacherBackend:
    """The backend for spec; a vllm teacher without base_url gets a server started in this process."""
    from workers.teachers.openai_compat import OpenAICompatClient

    if spec.backend == "vllm" and sampling.logprobs:  # vLLM answers logprob tokens as ids when asked
        sampling = dataclasses.replace(sampling, token_ids=True)

    def client(base_url: str, model: str, api_key: str | None, own: bool = False) -> OpenAICompatClient:
        return OpenAICompatClient(
            base_url=base_url,
            model=model,
            api_key=api_key,
            concurrency=concurrency,
            max_retries=max_retries,
            timeout_s=timeout_s,
            sampling=sampling,
            # a server this worker started listens on its own loopback: the policy is for URLs users give
            egress=None if own else EgressPolicy.current(),
        )

    if spec.backend == "openai_compat" or (spec.backend == "vllm" and spec.base_url):
        if not spec.base_url:
            raise ValueError("an openai_compat teacher needs base_url")
        return client(spec.base_url, spec.model, spec.api_key)
    if spec.backend == "vllm":
        from workers.teachers.gpus import gpus_needed
        from workers.teachers.vllm_server import VLLMServerSpec, Watched, acquire

        server_spec = VLLMServerSpec.from_settings(spec.model, spec.settings)  # bad settings fail now

        def start() -> TeacherBackend:
            server = acquire(server_spec)
            inner = Watched(client(server.base_url, server.served_name, None, own=True), server)
            # the GPUs the server uses (none known on a CPU host: its one device, as before)
            devices = (
                gpus_needed(server_spec.tensor_parallel_size, server_spec.extra_args) if server.gpus else 1
            )
            return HeldDevice(inner, devices)

        return LazyTeacher("vllm", start)
    if spec.backend == "transformers_local":
        from workers.teachers.transformers_local import TransformersLocalTeacher

        return LazyTeacher(
            "transformers_local",
            lambda: TransformersLocalTeacher(
                spec.model,
                sampling,
                device=str(spec.settings.get("device", "auto")),
                batch_size=int(spec.settings.get("batch_size", 16)),
                dtype=str(spec.settings.get("dtype", "auto")),
            ),
        )
    raise ValueError(f"unknown teacher backend {spec.backend!r}")
