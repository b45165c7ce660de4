"""Teacher replicas: two gpu workers (each a real Celery worker process owning one "GPU" through
DISTILLERY_WORKER_GPUS) each start their own vLLM CPU server over the tiny model and share one
rollout's chunks through PostgreSQL alone: exactly prompts x n generations, none twice, none missing,
both workers did chunks, each on its own server. Then a teacher too big for a worker's GPUs fails its
stage as a user error, before any server starts. Two vLLM start-ups: minutes on two loaded cores."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.rollouts import run_rollout
from tests.support.vllm import VLLM_PYTHON, vllm_processes
from tests.support.waiting import poll_until
from tests.support.worker import WorkerProcess

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not VLLM_PYTHON.exists(), reason="vLLM's CPU build is missing: run scripts/setup-vllm.sh"
    ),
]

PROMPTS, N, CHUNK = 24, 2, 3  # 8 chunks: enough that both workers take some
# On the CPU build gpu_memory_utilization is a share of the host's RAM: two servers, each ~1 GiB of KV cache
VLLM = {"dtype": "float32", "max_model_len": 256, "enforce_eager": True, "gpu_memory_utilization": 0.04}
STARTING = re.compile(r"starting vLLM on GPUs (\S+) \(log (\S+)\)")


@pytest.fixture(scope="module")
def replicas(celery_worker) -> Iterator[list[WorkerProcess]]:
    """The session's worker stopped; two named workers, one "GPU" each, in its place."""
    celery_worker.stop()
    workers = [WorkerProcess(f"replica{i}") for i in range(2)]
    try:
        for i, worker in enumerate(workers):
            worker.start(DISTILLERY_WORKER_GPUS=str(i))
        yield workers
    finally:
        for worker in workers:
            worker.stop()
        celery_worker.start()


def _chunk_tasks(log_path: Path) -> set[str]:
    """Ids of the rollout chunk tasks this worker received (Celery logs each delivery)."""
    text = log_path.read_text(errors="replace")
    return set(re.findall(r"distillery\.stage\.rollout\.chunk\[([0-9a-f-]+)\] received", text))


def test_two_workers_each_with_its_own_vllm_share_one_rollout(
    replicas, client, accounts, tmp_path, tiny_model
):
    from sqlalchemy import select

    from backend.core.db import session_scope
    from backend.runs.models import StageChunk

    teacher = {"backend": "vllm", "model": str(tiny_model), "settings": {**VLLM, "served_model_name": "tiny"}}
    # sampled: greedy decoding of the tiny random weights repeats whitespace, an empty answer
    run, gens, _ = run_rollout(
        client, accounts, tmp_path, teacher, PROMPTS,
        n=N, chunk_size=CHUNK, max_tokens=8, temperature=1.0, concurrency=4, use_cache=False, timeout=900,
    )  # fmt: skip
    assert run["status"] == "succeeded", [(s["kind"], s["error"]) for s in run["stages"]]

    # Exact counts: every (prompt, attempt) once, none missing, none duplicated.
    assert len(gens) == PROMPTS * N
    assert len({(g["prompt_id"], g["attempt"]) for g in gens}) == PROMPTS * N
    assert len({g["prompt_id"] for g in gens}) == PROMPTS
    assert Counter(g["attempt"] for g in gens) == {a: PROMPTS for a in range(N)}
    stage = run["stages"][0]
    assert stage["progress_done"] == stage["progress_total"] == PROMPTS * N

    # Both workers did chunks: each chunk row names the task that finished it, and each task id was
    # delivered to exactly one worker.
    with session_scope() as s:
        chunks = s.execute(
            select(StageChunk.status, StageChunk.task_id).where(StageChunk.stage_id == stage["id"])
        ).all()
    assert len(chunks) == PROMPTS // CHUNK and {c.status for c in chunks} == {"succeeded"}
    delivered = [_chunk_tasks(w.log_path) for w in replicas]
    assert not delivered[0] & delivered[1]
    by_worker = Counter(i for c in chunks for i, ids in enumerate(delivered) if c.task_id in ids)
    assert sum(by_worker.values()) == len(chunks) and set(by_worker) == {0, 1}, by_worker

    # Each worker started its own server on its own GPU, and each server answered requests.
    servers = []
    for i, worker in enumerate(replicas):
        started = STARTING.findall(worker.log_path.read_text(errors="replace"))
        assert [gpus for gpus, _ in started] == [str(i)], started  # one server, started once
        servers.append(Path(started[0][1]))
    assert servers[0] != servers[1]
    ready = [re.findall(r"vLLM ready on port \d+ after ([\d.]+) s", w.log_path.read_text()) for w in replicas]
    print(f"replicas: chunks per worker {dict(sorted(by_worker.items()))}, vLLM start-ups (s) {ready}")
    for log in servers:
        assert log.read_text(errors="replace").count('"POST /v1/chat/completions HTTP') >= 1, log

    # No chunk is left waiting: each worker stopped its server.
    poll_until(lambda: not vllm_processes(tiny_model), "both vLLM servers stopped", timeout=120)


def test_a_teacher_too_big_for_the_workers_gpus_fails_its_stage_before_any_start(
    replicas, client, accounts, tmp_path, tiny_model
):
    teacher = {"backend": "vllm", "model": str(tiny_model), "settings": {**VLLM, "tensor_parallel_size": 2}}
    run, gens, _ = run_rollout(client, accounts, tmp_path, teacher, 4, n=1, chunk_size=2, max_tokens=8)
    assert run["status"] == "failed" and gens == []
    error = run["stages"][0]["error"]
    assert "needs 2 GPUs (tensor_parallel_size 2) but this worker owns 1 (" in error, error
    assert error.startswith("chunk ") and not vllm_processes(tiny_model)  # refused at the claim
