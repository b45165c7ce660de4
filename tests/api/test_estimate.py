"""POST /runs/estimate: a time before a teacher's first run (and where it comes from), vLLM's start-up
for a server the worker starts, and the recipe's concurrency."""

from __future__ import annotations

import math

import pytest

from backend.rollouts.estimate import DEFAULT_TOKENS_PER_S, VLLM_STARTUP_S
from tests.support.factories import make_generations, make_run
from tests.support.teachers import make_teacher, post_estimate


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

    h, pid, pset = project
    ran = make_teacher(
        client, h, pid, name="ran", backend="openai_compat", model="m", base_url="http://10.0.0.9/v1"
    )
    fresh = make_teacher(
        client, h, pid, name="new", backend="openai_compat", model="m2", base_url="http://10.0.0.8/v1"
    )
    with session_scope() as s:
        run = make_run(s, project_id=pid, prompt_set_id=pset, teacher_id=ran, status="pending", recipe={})
        # 200 tokens in 2 s each: 100 tokens/s
        make_generations(s, run, each=lambda k: {"attempt": k}, completion_tokens=200, latency_ms=2000)
    own = post_estimate(client, h, pid, pset, ran, n=1, max_tokens=1000, concurrency=5)
    assert own["seconds_source"] == "teacher"
    assert own["seconds"] == pytest.approx(2 * 2.0, abs=0.1)  # 10 attempts, 2 waves of 2 s
    # A teacher without runs of its own: the speed its backend showed here, per output token.
    other = post_estimate(client, h, pid, pset, fresh, n=1, max_tokens=300, concurrency=5)
    assert other["seconds_source"] == "backend"
    assert other["seconds"] == pytest.approx(2 * 300 / 100, abs=0.1)


def test_max_tokens_is_auto_by_default_and_the_estimate_says_which_it_used(client, project):
    from backend.core.db import session_scope
    from backend.rollouts.requests import DEFAULT_MAX_TOKENS
    from backend.rollouts.schemas import RolloutSettings
    from backend.teachers.models import Teacher

    assert RolloutSettings().max_tokens is None and DEFAULT_MAX_TOKENS == 16384
    h, pid, pset = project
    api = make_teacher(client, h, pid, name="api", backend="openai_compat", model="m", base_url="http://x/v1")
    r1 = make_teacher(
        client,
        h,
        pid,
        name="r1",
        backend="vllm",
        model="deepseek-ai/DeepSeek-R1-Distill-Qwen-7B",
        settings={"max_model_len": 32768},
    )

    def basis(est: dict) -> str:
        return next(b for b in est["basis"] if b.startswith("max_tokens: "))

    # Nothing knows the API's context length: the default, an upper bound for every attempt.
    est = post_estimate(client, h, pid, pset, api, n=2)
    assert (est["max_tokens"], est["max_tokens_source"]) == (16384, "auto: default 16384")
    assert est["output_tokens"] == 16384 * est["attempts"] and est["attempts"] == 2 * 10
    assert basis(est).startswith("max_tokens: 16384, auto: default 16384 (the teacher's context length is")
    assert post_estimate(client, h, pid, pset, api, n=2, max_tokens=None)["max_tokens"] == 16384
    # A vllm teacher's max_model_len setting is the context length its server gets.
    est = post_estimate(client, h, pid, pset, r1, n=1)
    assert (est["max_tokens"], est["max_tokens_source"]) == (32768, "auto: teacher context length 32768")
    assert est["output_tokens"] == 32768 * est["attempts"]
    assert basis(est) == (
        "max_tokens: 32768, auto: teacher context length 32768 (the teacher's max_model_len setting)"
    )
    # Set in the rollout, it is used as it is.
    est = post_estimate(client, h, pid, pset, r1, n=1, max_tokens=2048)
    assert (est["max_tokens"], est["max_tokens_source"]) == (2048, "set in the rollout")
    assert est["output_tokens"] == 2048 * est["attempts"]

    # What the probe read off the server's /v1/models counts where the teacher has no setting.
    with session_scope() as s:
        s.get(Teacher, api).probe = {"measured_at": "2026-01-01T00:00:00Z", "context_length": 131072}
    est = post_estimate(client, h, pid, pset, api, n=1)
    assert (est["max_tokens"], est["max_tokens_source"]) == (131072, "auto: teacher context length 131072")
    assert "(its server's /v1/models, read by the last speed probe)" in basis(est)
    with session_scope() as s:  # the teacher's own setting wins over the probe's reading
        s.get(Teacher, r1).probe = {"measured_at": "2026-01-01T00:00:00Z", "context_length": 131072}
    assert post_estimate(client, h, pid, pset, r1, n=1)["max_tokens"] == 32768


def test_the_estimate_takes_the_run_creation_body_and_still_a_bare_recipe(client, project):
    h, pid, pset = project
    tid = make_teacher(client, h, pid, backend="openai_compat", model="m", base_url="http://10.0.0.9/v1")
    recipe = {"prompt_set_id": pset, "teacher_id": tid, "stages": ["rollout"], "rollout": {"n": 3}}
    url = f"/api/projects/{pid}/runs/estimate"
    named = client.post(url, headers=h, json={"name": "nightly", "recipe": recipe})
    unnamed = client.post(url, headers=h, json={"recipe": recipe})
    bare = client.post(url, headers=h, json=recipe)  # deprecated, kept for old clients
    assert named.status_code == unnamed.status_code == bare.status_code == 200, (named.text, bare.text)
    assert named.json() == unnamed.json() == bare.json()
    assert named.json()["attempts"] == 3 * named.json()["prompts"] > 0
    # a bad field is at the same path in both shapes (and in POST .../runs): body.recipe.<field>
    for body in ({"name": "x", "recipe": {**recipe, "rollout": {"n": 0}}}, {**recipe, "rollout": {"n": 0}}):
        r = client.post(url, headers=h, json=body)
        assert r.status_code == 422, r.text
        assert [f["path"] for f in r.json()["error"]["fields"]] == ["body.recipe.rollout.n"]
    r = client.post(url, headers=h, json={"name": "", "recipe": recipe})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["path"] == "body.name", r.text
    r = client.post(url, headers=h, json={"recipe": {**recipe, "teacher_id": None}})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["path"] == "body.recipe.teacher_id", r.text
