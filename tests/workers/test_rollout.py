"""Rollouts through the API and a real Celery worker, against the project's fault-injecting fake
OpenAI-compatible server: exactly prompts x n generations, failures recorded with causes, the response
cache, cancel and re-queue, the licence guard, estimates and prices."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest

from backend.core.net import free_port
from tests.fakes.fake_openai_server import start_fake_server, stop_fake_server
from tests.support.env import DATA_DIR, unique
from tests.support.prompts import write_jsonl
from tests.support.rollouts import all_generations, launch_rollout, rollout_project
from tests.support.waiting import poll_until, wait_run

# The server draws each conversation's faults from a hash of (seed, conversation, try), so they fall the
# same way on every run of this test; no conversation is faulted more than twice, so every transient
# fault is retried away within the client's five tries.
FAULTS = [
    "--max-faults-per-prompt", "2",
    "--rate-429", "0.08", "--retry-after", "0.05",
    "--rate-500", "0.08",
    "--rate-timeout", "0.05", "--hang-s", "3",
    "--rate-reset", "0.1",
    "--rate-malformed", "0.05",
    "--rate-empty", "0.05",
    "--rate-length", "0.1",
    "--rate-nul", "0.1",
    "--answer-bytes", "600",
]  # fmt: skip


@pytest.fixture(scope="module")
def faulty():
    port = free_port()
    proc = start_fake_server(port, *FAULTS, log_path=DATA_DIR / "fake-faulty.log")
    yield f"http://127.0.0.1:{port}"
    stop_fake_server(proc)


@pytest.fixture(scope="module")
def slow():
    port = free_port()
    proc = start_fake_server(port, "--latency-s", "0.05", "--ignore-n", log_path=DATA_DIR / "fake-slow.log")
    yield f"http://127.0.0.1:{port}"
    stop_fake_server(proc)


def _stats(base: str) -> dict:
    return httpx.get(f"{base}/stats").json()


def test_faults_end_with_exactly_prompts_times_n(client, accounts, celery_worker, faulty, tmp_path):
    prompts = [f"What is {i} plus {i * 3}? Think step by step." for i in range(78)]
    prompts += ["ALWAYS_FAIL: this one the server never answers", "ALWAYS_FAIL twice"]
    pid, h, pset, tid = rollout_project(
        client,
        accounts,
        tmp_path,
        faulty,
        prompts,
        settings={"price_input_per_m": 1.0, "price_output_per_m": 2.0},
    )
    before = _stats(faulty)
    run = launch_rollout(
        client, h, pid, pset, tid, n=3, chunk_size=32, max_retries=4, timeout_s=1.0, concurrency=8
    )
    run = wait_run(client, h, pid, run["id"])
    assert run["status"] == "succeeded", run
    gens = all_generations(client, h, pid, run["id"])
    assert len(gens) == 80 * 3
    assert len({(g["prompt_id"], g["attempt"]) for g in gens}) == 240
    assert Counter(g["attempt"] for g in gens) == {0: 80, 1: 80, 2: 80}
    failed = [g for g in gens if g["status"] == "failed"]
    # Only the poisoned prompts fail for good; every transient fault was retried away.
    assert len(failed) == 6
    assert all(g["error"].startswith("http 500") and "after 5 tries" in g["error"] for g in failed)
    ok = [g for g in gens if g["status"] == "ok"]
    assert all(g["content"] and g["reasoning"] for g in ok if not g["truncated"])
    assert any(g["truncated"] and g["finish_reason"] == "length" for g in ok)
    assert any("The\ufffdanswer is" in g["content"] for g in ok)  # NUL, which PostgreSQL refuses, replaced
    stats = _stats(faulty)
    injected = {k: stats["faults"][k] - before["faults"].get(k, 0) for k in stats["faults"]}
    for kind in ("429", "500", "timeout", "reset", "malformed", "empty", "length", "nul"):
        assert injected.get(kind, 0) > 0, (kind, injected)
    stage = run["stages"][0]
    from sqlalchemy import func, select

    from backend.core.db import session_scope
    from backend.runs.models import StageChunk

    with session_scope() as s:
        chunks, tasks, done = s.execute(
            select(
                func.count(),
                func.count(func.distinct(StageChunk.task_id)),
                func.count().filter(StageChunk.status == "succeeded"),
            ).where(StageChunk.stage_id == stage["id"])
        ).one()
    # 80 prompts in chunks of 32; a task running dry took over the next chunk instead of draining.
    assert chunks == done == 3 and tasks < chunks
    m = stage["metrics"]
    assert stage["progress_done"] == stage["progress_total"] == 240
    assert (m["succeeded"], m["failed"], m["failures"]) == (234, 6, {"http 500": 6})
    assert m["truncated"] == sum(g["truncated"] for g in ok)
    assert m["completion_tokens"] == sum(g["completion_tokens"] for g in ok)
    # Cost from the teacher's own prices: output tokens at $2/M plus each request's prompt at $1/M.
    assert 0 < m["cost_usd"] <= (m["prompt_tokens"] * 1.0 + m["completion_tokens"] * 2.0) / 1e6 + 1e-9
    assert m["cost_usd"] >= m["completion_tokens"] * 2.0 / 1e6 - 1e-9


def test_identical_recipe_reuses_the_cache_and_requeue_asks_only_what_is_missing(
    client, accounts, celery_worker, slow, tmp_path
):
    prompts = [f"Cache me {i}" for i in range(12)] + ["ALWAYS_FAIL here"]
    pid, h, pset, tid = rollout_project(client, accounts, tmp_path, slow, prompts)
    settings = {"n": 2, "chunk_size": 5, "max_retries": 0, "concurrency": 4}
    first = wait_run(client, h, pid, launch_rollout(client, h, pid, pset, tid, **settings)["id"])
    assert first["status"] == "succeeded"
    assert first["stages"][0]["metrics"]["from_cache"] == 0
    before = _stats(slow)["requests"]
    second = wait_run(client, h, pid, launch_rollout(client, h, pid, pset, tid, **settings)["id"])
    m = second["stages"][0]["metrics"]
    assert (m["succeeded"], m["from_cache"], m["failed"]) == (24, 24, 2)
    # Only the poisoned prompt's two attempts were asked again (as one request with n=2, or as two
    # single ones once the client learnt that this provider ignores n).
    assert 1 <= _stats(slow)["requests"] - before <= 2
    gens = all_generations(client, h, pid, second["id"])
    assert sum(g["from_cache"] for g in gens) == 24 and len(gens) == 26
    # A different sampling setting is a different cache key.
    third = wait_run(
        client, h, pid, launch_rollout(client, h, pid, pset, tid, **settings, temperature=0.2)["id"]
    )
    assert third["stages"][0]["metrics"]["from_cache"] == 0


def test_cancel_stops_within_seconds_keeps_rows_and_requeue_completes(
    client, accounts, celery_worker, slow, tmp_path
):
    prompts = [f"Long job prompt number {i}" for i in range(200)]
    pid, h, pset, tid = rollout_project(client, accounts, tmp_path, slow, prompts)
    run = launch_rollout(client, h, pid, pset, tid, n=2, chunk_size=50, concurrency=2, use_cache=False)
    url = f"/api/projects/{pid}/runs/{run['id']}"
    poll_until(
        lambda: client.get(url, headers=h).json()["stages"][0]["progress_done"] >= 10, "10 done", timeout=60
    )
    r = client.post(f"{url}/cancel", headers=h)
    assert r.status_code == 202
    cancelled = wait_run(client, h, pid, run["id"])
    assert cancelled["status"] == "cancelled"
    kept = {g["id"] for g in all_generations(client, h, pid, run["id"])}
    assert 10 <= len(kept) < 400
    r = client.post(f"{url}/requeue", headers=h)
    assert r.status_code == 202, r.text
    done = wait_run(client, h, pid, run["id"])
    assert done["status"] == "succeeded", done
    gens = all_generations(client, h, pid, run["id"])
    assert len(gens) == 400 and len({(g["prompt_id"], g["attempt"]) for g in gens}) == 400
    assert kept <= {g["id"] for g in gens}  # nothing written before the cancel was lost or rewritten
    assert client.post(f"{url}/requeue", headers=h).json()["error"]["code"] == "run_finished"


def test_licence_guard_card_and_export(client, accounts, celery_worker, slow, tmp_path):
    pid, h, pset, tid = rollout_project(
        client, accounts, tmp_path, slow, ["Export me", "And me"], licence="api_no_compete"
    )
    run = wait_run(client, h, pid, launch_rollout(client, h, pid, pset, tid, n=1)["id"])
    assert run["status"] == "succeeded"
    assert any("forbid training competing models" in w for w in run["warnings"])
    card = client.get(f"/api/projects/{pid}/runs/{run['id']}/card", headers=h)
    assert card.status_code == 200 and "Licence warning" in card.text and "2 succeeded" in card.text
    url = f"/api/projects/{pid}/runs/{run['id']}/export"
    r = client.get(url, headers=h)
    assert r.status_code == 403 and r.json()["error"]["code"] == "terms_not_acknowledged"
    r = client.get(url, headers=h, params={"acknowledge_terms": True})
    assert r.status_code == 200
    lines = [line for line in r.text.splitlines() if line]
    assert len(lines) == 2 and {'"prompt":"Export me"' in line for line in lines} == {True, False}


def test_an_auto_max_tokens_sends_the_teachers_context_length_else_the_default(
    client, accounts, celery_worker, tmp_path
):
    """What the requests really carry: max_tokens as the fake server received it."""
    port = free_port()
    proc = start_fake_server(port, "--answer-bytes", "200", log_path=DATA_DIR / "fake-max-tokens.log")
    base = f"http://127.0.0.1:{port}"
    try:
        pid, h, pset, api = rollout_project(client, accounts, tmp_path, base, ["one", "two", "three"])
        r1 = client.post(
            f"/api/projects/{pid}/teachers",
            headers=h,
            json={"name": "r1", "backend": "vllm", "model": "fake-teacher", "base_url": f"{base}/v1",
                  "settings": {"max_model_len": 4096}},
        ).json()["id"]  # fmt: skip
        seen = []
        for tid, rollout in ((api, {}), (r1, {}), (r1, {"max_tokens": 64})):
            httpx.post(f"{base}/stats/reset")
            run = launch_rollout(client, h, pid, pset, tid, n=2, use_cache=False, **rollout)
            assert wait_run(client, h, pid, run["id"])["status"] == "succeeded"
            seen.append(_stats(base)["max_tokens"])
    finally:
        stop_fake_server(proc)
    assert seen == [{"16384": 3}, {"4096": 3}, {"64": 3}]


def test_estimate_before_launch_uses_the_price_table(client, accounts, tmp_path):
    admin = accounts.user(admin=True)
    pid = accounts.project(admin)
    h = admin["headers"]
    from tests.support.prompts import seed_prompt_set

    pset = seed_prompt_set(
        pid, write_jsonl(tmp_path / "e.jsonl", [{"prompt": "x" * 400}] * 1 + [{"prompt": "y"}])
    )
    model = unique("model")
    r = client.put(
        "/api/prices",
        headers=h,
        json={"provider": "together", "model": model, "input_per_m": 1.0, "output_per_m": 3.0},
    )
    assert r.status_code == 200, r.text
    tid = client.post(
        f"/api/projects/{pid}/teachers",
        headers=h,
        json={
            "name": "t",
            "backend": "openai_compat",
            "model": model,
            "base_url": "https://api.together.xyz/v1",
        },
    ).json()["id"]
    recipe = {
        "prompt_set_id": pset,
        "teacher_id": tid,
        "stages": ["rollout"],
        "rollout": {"n": 4, "max_tokens": 100},
    }
    r = client.post(f"/api/projects/{pid}/runs/estimate", headers=h, json=recipe)
    assert r.status_code == 200, r.text
    est = r.json()
    assert (est["prompts"], est["attempts"], est["output_tokens"]) == (2, 8, 800)
    assert est["cost_usd"] == pytest.approx(est["input_tokens"] / 1e6 + 800 * 3 / 1e6, abs=1e-4)
    assert est["price"]["source"] == f"price table together/{model}"
    # Without a price the estimate says so instead of guessing.
    client.put("/api/prices", headers=h, json={"provider": "together", "model": model})
    other = {**recipe, "rollout": {"n": 1}}
    tid2 = client.post(
        f"/api/projects/{pid}/teachers",
        headers=h,
        json={
            "name": "t2",
            "backend": "openai_compat",
            "model": "unpriced",
            "base_url": "http://10.0.0.1/v1",
        },
    ).json()["id"]
    est = client.post(
        f"/api/projects/{pid}/runs/estimate", headers=h, json={**other, "teacher_id": tid2}
    ).json()
    assert est["cost_usd"] is None and any("no price for custom/unpriced" in b for b in est["basis"])


def test_prices_are_admin_edited(client, accounts):
    user = accounts.user()
    r = client.get("/api/prices", headers=user["headers"])
    assert r.status_code == 200 and any(p["provider"] == "local" for p in r.json())
    r = client.put("/api/prices", headers=user["headers"], json={"provider": "x", "model": "y"})
    assert r.status_code == 403
    admin = accounts.user(admin=True)
    r = client.put(
        "/api/prices", headers=admin["headers"], json={"provider": "", "model": "y", "input_per_m": -1}
    )
    assert r.status_code == 422
    assert {f["path"] for f in r.json()["error"]["fields"]} >= {"body.provider", "body.input_per_m"}


def test_rollout_needs_a_teacher(client, accounts, tmp_path):
    owner = accounts.user()
    pid = accounts.project(owner)
    from tests.support.prompts import seed_prompt_set

    pset = seed_prompt_set(pid, write_jsonl(tmp_path / "t.jsonl", [{"prompt": "a"}]))
    r = client.post(
        f"/api/projects/{pid}/runs",
        headers=owner["headers"],
        json={"name": "r", "recipe": {"prompt_set_id": pset, "stages": ["rollout"]}},
    )
    assert r.status_code == 422 and "teacher_id" in r.text
