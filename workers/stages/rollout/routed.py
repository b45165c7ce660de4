"""Several teachers behind one backend (rollout.teachers): each request goes to its prompt's teacher
(the route the chunk chose as it read the prompt), and the answers of all of them come back as one
stream, so plain, adaptive and smoke chunks drive it as they drive a single teacher."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

from workers.stages.rollout.job import ChunkJob, Routed
from workers.teachers.base import Completion, Request


class RoutedTeachers:
    def __init__(self, job: ChunkJob, make: Callable[[Routed], Any]):
        self.job = job
        self._make = make
        # made on first use: a teacher no prompt of the chunk needs never starts
        self.backends: dict[int, Any] = {}
        self.prompt_teacher: dict[int, int] = {}  # over every chunk this task drives (learn)

    def learn(self, job: ChunkJob) -> None:
        """A chunk's prompts routed away from the default (read as it loaded them)."""
        self.prompt_teacher.update(job.prompt_teacher)

    def _backend(self, tid: int) -> Any:
        if tid not in self.backends:
            self.backends[tid] = self._make(self.job.teachers[tid])
        return self.backends[tid]

    @property
    def gpu_seconds(self) -> float:
        return sum(b.gpu_seconds for b in self.backends.values())

    def gpu_by_teacher(self) -> dict[int, float]:
        return {tid: b.gpu_seconds for tid, b in self.backends.items()}

    async def generate(self, requests: list[Request]) -> AsyncIterator[tuple[Request, list[Completion]]]:
        groups: dict[int, list[Request]] = {}
        for req in requests:
            pid = req.key[0]
            groups.setdefault(self.prompt_teacher.get(pid, self.job.teacher_id), []).append(req)
        if len(groups) == 1:
            ((tid, reqs),) = groups.items()
            async for item in self._backend(tid).generate(reqs):
                yield item
            return
        queue: asyncio.Queue = asyncio.Queue()
        done = object()

        async def pump(tid: int, reqs: list[Request]) -> None:
            try:
                async for item in self._backend(tid).generate(reqs):
                    queue.put_nowait(item)
            finally:
                queue.put_nowait(done)

        pumps = [asyncio.create_task(pump(tid, reqs)) for tid, reqs in groups.items()]
        try:
            left = len(pumps)
            while left:
                item = await queue.get()
                if item is done:
                    left -= 1
                    continue
                yield item
            for p in pumps:  # a teacher's failure fails the chunk, as with one teacher
                p.result()
        finally:
            for p in pumps:
                p.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)

    async def aclose(self) -> None:
        for b in self.backends.values():
            await b.aclose()


def gpu_by_teacher(backend: Any, job: ChunkJob) -> dict[int, float]:
    """GPU seconds so far per teacher (a provider batch's client is the default teacher's)."""
    if isinstance(backend, RoutedTeachers):
        return backend.gpu_by_teacher()
    return {job.teacher_id: backend.gpu_seconds}
