"""Rollouts through a provider's batch API (rollout.mode batch) against a FAKE batch server that serves
the documented OpenAI endpoints (tests/fakes/fake_batch_server.py): submitted exactly once across a task
that dies at the worst moment, resumed by a later task, partial answers, per-request errors, expiry, a
refused batch, a cancel; then the whole pipeline through the API and a real worker."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from backend.core.net import free_port
from tests.fakes.fake_batch_server import start_batch_server
from tests.support.rollouts import all_generations, launch_rollout, rollout_project
from tests.support.waiting import wait_run
from workers.progress import Cancelled
from workers.teachers.base import Request, Sampling
from workers.teachers.openai_batch import BatchFailed, OpenAIBatchClient

KEY = "sk-batch-key-0123456789"


@pytest.fixture
def server():
    """Start a fake batch server with the given flags; (base URL with /v1, stats reader)."""
    procs = []

    def start(*flags: str):
        port = free_port()
        procs.append(start_batch_server(port, "--key", KEY, *flags))
        base = f"http://127.0.0.1:{port}"
        return f"{base}/v1", lambda: httpx.get(f"{base}/stats", trust_env=False).json()

    yield start
    for p in procs:
        p.kill()
        p.wait()


class MemoryLedger:
    """A ledger that can die the way a worker does: raising on the save that would store `die_on`."""

    def __init__(self, die_on: str | None = None) -> None:
        self.state: dict = {}
        self.die_on = die_on

    def load(self) -> dict:
        return dict(self.state)

    def save(self, state: dict) -> None:
        if self.die_on and self.die_on in state and self.die_on not in self.state:
            self.die_on = None
            raise SystemExit("worker killed")
        self.state = dict(state)


def _client(url, ledger, still_running=lambda: True) -> OpenAIBatchClient:
    return OpenAIBatchClient(
        base_url=url,
        model="teacher",
        api_key=KEY,
        ledger=ledger,
        still_running=still_running,
        sampling=Sampling(max_tokens=64),
        poll_s=0.02,
        egress=None,
    )


def _requests(k: int, n: int = 2) -> list[Request]:
    return [
        Request(
            key=(100 + i, list(range(n)), [f"k{i}"] * n), messages=[{"role": "user", "content": f"q{i}"}], n=n
        )
        for i in range(k)
    ]


def _run(client: OpenAIBatchClient, requests: list[Request]) -> dict[int, list]:
    async def go():
        try:
            return {req.key[0]: comps async for req, comps in client.generate(requests)}
        finally:
            await client.aclose()

    return asyncio.run(go())


def test_a_batch_answers_every_request_with_its_n_choices(server):
    url, stats = server("--polls", "2")
    got = _run(_client(url, MemoryLedger()), _requests(5))
    assert sorted(got) == [100, 101, 102, 103, 104]
    assert all(len(c) == 2 and c[0].ok and "\\boxed{42}" in c[0].content for c in got.values())
    assert got[100][0].reasoning == "6 times 7 is 42." and got[100][0].completion_tokens == 20
    assert stats()["batches_created"] == 1 and stats()["files"] == 1  # one input file uploaded


@pytest.mark.parametrize("dies_before_storing", ["batch_id", "file_id"])
def test_a_task_killed_mid_submission_never_submits_twice(server, dies_before_storing):
    url, stats = server()
    ledger = MemoryLedger(die_on=dies_before_storing)
    with pytest.raises(SystemExit):
        _run(_client(url, ledger), _requests(3))
    assert ledger.state.get("nonce")  # stored before anything was sent
    got = _run(_client(url, ledger), _requests(3))  # the redelivered task
    assert sorted(got) == [100, 101, 102] and all(c[0].ok for c in got.values())
    # killed after creating the batch: found by its nonce; killed after uploading: the unrecorded file is
    # sent once more (an unused file costs nothing), the batch made once. One batch is paid for either way.
    uploads = 1 if dies_before_storing == "batch_id" else 2
    assert stats()["batches_created"] == 1 and stats()["files"] == uploads


def test_a_stored_batch_is_resumed_and_its_gaps_are_submitted_once_more(server):
    url, stats = server("--error-every", "2")
    ledger = MemoryLedger()
    first = _run(_client(url, ledger), _requests(4))
    # a fresh batch's per-request errors are failed attempts with the provider's words
    assert [first[i][0].ok for i in (100, 101, 102, 103)] == [True, False, True, False]
    assert first[101][0].error == "http 500 | provider said: server overloaded"
    assert first[101][0].cause == "http 500"
    assert ledger.state == {}  # settled: a later call submits afresh
    ledger.state = {"nonce": "n1", "batch_id": "batch-2", "file_id": "file-1"}  # as a killed task left it
    again = _run(_client(url, ledger), _requests(4))
    assert all(c[0].ok or c[0].error for c in again.values())
    assert again[100][0].ok and again[102][0].ok  # the stored batch's answers, not paid again
    assert stats()["batches_created"] == 2  # the resumed batch's two gaps, once more, in one new batch


def test_an_expired_batch_keeps_what_it_answered_and_fails_the_rest(server):
    url, _ = server("--expire-after", "2")
    got = _run(_client(url, MemoryLedger()), _requests(4))
    assert [got[i][0].ok for i in (100, 101, 102, 103)] == [True, True, False, False]
    assert got[103][0].error == "batch expired: no result for this request"


def test_a_refused_batch_fails_with_the_providers_words_and_a_requeue_submits_afresh(server):
    url, _ = server("--fail-batch")
    ledger = MemoryLedger()
    with pytest.raises(BatchFailed, match="model not available for batch"):
        _run(_client(url, ledger), _requests(2))
    assert ledger.state == {}


def test_a_cancel_seen_while_polling_cancels_the_batch(server):
    url, stats = server("--polls", "1000")
    polls = iter([True, True, False])
    with pytest.raises(Cancelled):
        _run(_client(url, MemoryLedger(), still_running=lambda: next(polls)), _requests(2))
    assert stats()["cancelled"] == 1


def test_a_batch_rollout_through_the_api_and_a_worker(client, accounts, celery_worker, server, tmp_path):
    url, stats = server("--polls", "2", "--error-every", "3")
    base = url.removesuffix("/v1")
    prompts = [f"What is {i} x 6?" for i in range(5)]
    pid, h, pset, tid = rollout_project(
        client,
        accounts,
        tmp_path,
        base,
        prompts,
        api_key=KEY,
        settings={"price_input_per_m": 2.0, "price_output_per_m": 8.0},
    )
    est = client.post(
        f"/api/projects/{pid}/runs/estimate",
        headers=h,
        json={
            "prompt_set_id": pset,
            "teacher_id": tid,
            "stages": ["rollout"],
            "rollout": {"n": 2, "mode": "batch"},
        },
    ).json()
    assert "batch at 0.5" in " ".join(est["basis"])
    run = wait_run(
        client, h, pid, launch_rollout(client, h, pid, pset, tid, n=2, mode="batch", chunk_size=3)["id"]
    )
    assert run["status"] == "succeeded", run
    gens = all_generations(client, h, pid, run["id"])
    assert len(gens) == 10  # 5 prompts x 2, each recorded once
    assert sum(g["status"] == "failed" for g in gens) == 2  # the fake's third request of each chunk
    metrics = client.get(f"/api/projects/{pid}/runs/{run['id']}/stages", headers=h).json()[0]["metrics"]
    assert metrics["failures"] == {"http 500": 2}
    # half the online price: 8 ok attempts, each request billed its prompt once (10 tokens), 20 out each
    ok_requests = 4
    assert metrics["cost_usd"] == pytest.approx((ok_requests * 10 * 2.0 + 8 * 20 * 8.0) / 1e6 * 0.5)
    assert stats()["batches_created"] == 2  # one per chunk (3 + 2 prompts)
    assert KEY not in str(run) and KEY not in str(metrics)


def test_batch_mode_needs_an_api_teacher_and_online_adaptive_sampling(client, accounts, tmp_path, server):
    url, _ = server()
    pid, h, pset, tid = rollout_project(client, accounts, tmp_path, url.removesuffix("/v1"), ["a?"])
    recipe = {
        "prompt_set_id": pset,
        "teacher_id": tid,
        "stages": ["rollout", "filter"],
        "rollout": {"mode": "batch", "stop_when_verified": 1},
    }
    r = client.post(f"/api/projects/{pid}/runs", headers=h, json={"name": "x", "recipe": recipe})
    assert r.status_code == 422 and "adaptive sampling" in r.text
