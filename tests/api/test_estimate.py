"""POST /runs/estimate: a time before a teacher's first run (and where it comes from), vLLM's start-up
for a server the worker starts, and the recipe's concurrency."""

from __future__ import annotations

import math

import pytest

from backend.rollouts.estimate import DEFAULT_TOKENS_PER_S, VLLM_STARTUP_S
from tests.api.conftest import make_teacher, post_estimate


def test_before_a_first_run_the_time_comes_from_the_backend_default_at_the_recipes_concurrency(
    client, project
):
    h, pid, pset = project
    tid = make_teacher(client, h, pid, backend="openai_compat", model="m", base_url="http://10.0.0.9/v1")
    rate = DEFAULT_TOKENS_PER_S["openai_compat"]
    wide = post_estimate(client, h, pid, pset, tid, n=4, max_tokens=100, concurrency=64)
    assert wide["seconds_source"] == "default" and wide["startup_s"] == 0
    assert wide["seconds"] == pytest.approx(1 * 100 / rate, abs=0.1)  # 40 attempts: one wave of 64
    narrow = post_estimate(client, h, pid, pset, tid, n=4, max_tokens=100, concurrency=4)
    assert narrow["seconds"] == pytest.approx(math.ceil(40 / 4) * 100 / rate, abs=0.1)
    assert any("10 waves of up to 4 attempts" in b for b in narrow["basis"])


def test_a_vllm_teacher_the_worker_starts_adds_its_start_up(client, project):
    h, pid, pset = project
    started = make_teacher(client, h, pid, name="v", backend="vllm", model="Qwen/Qwen2.5-0.5B-Instruct")
    served = make_teacher(
        client,
        h,
        pid,
        name="s",
        backend="vllm",
        model="Qwen/Qwen2.5-0.5B-Instruct",
        base_url="http://10.0.0.9/v1",
    )
    rate = DEFAULT_TOKENS_PER_S["vllm"]
    est = post_estimate(client, h, pid, pset, started, n=1, max_tokens=60, concurrency=64)
    assert est["startup_s"] == VLLM_STARTUP_S
    assert est["seconds"] == pytest.approx(VLLM_STARTUP_S + 60 / rate, abs=0.1)
    assert any("start vLLM" in b for b in est["basis"])
    est = post_estimate(client, h, pid, pset, served, n=1, max_tokens=60, concurrency=64)
    assert est["startup_s"] == 0 and est["seconds"] == pytest.approx(60 / rate, abs=0.1)


def test_measured_latencies_win_over_the_default(client, project):
    from backend.core.db import session_scope
    from backend.prompts.models import Prompt
    from backend.runs.models import Run
    from backend.samples.models import Generation

    h, pid, pset = project
    ran = make_teacher(
        client, h, pid, name="ran", backend="openai_compat", model="m", base_url="http://10.0.0.9/v1"
    )
    fresh = make_teacher(
        client, h, pid, name="new", backend="openai_compat", model="m2", base_url="http://10.0.0.8/v1"
    )
    with session_scope() as s:
        run = Run(project_id=pid, name="past", recipe={}, prompt_set_id=pset, teacher_id=ran)
        s.add(run)
        s.flush()
        prompt_ids = [p.id for p in s.query(Prompt).filter(Prompt.prompt_set_id == pset)]
        for i, prompt_id in enumerate(prompt_ids):  # 200 tokens in 2 s each: 100 tokens/s
            s.add(
                Generation(
                    run_id=run.id, prompt_id=prompt_id, attempt=i, completion_tokens=200, latency_ms=2000
                )
            )
    own = post_estimate(client, h, pid, pset, ran, n=1, max_tokens=1000, concurrency=5)
    assert own["seconds_source"] == "teacher"
    assert own["seconds"] == pytest.approx(2 * 2.0, abs=0.1)  # 10 attempts, 2 waves of 2 s
    # A teacher without runs of its own: the speed its backend showed here, per output token.
    other = post_estimate(client, h, pid, pset, fresh, n=1, max_tokens=300, concurrency=5)
    assert other["seconds_source"] == "backend"
    assert other["seconds"] == pytest.approx(2 * 300 / 100, abs=0.1)
