"""POST /runs/estimate: a time before a teacher's first run (and where it comes from), vLLM's start-up
for a server the worker starts, and the recipe's concurrency."""

from __future__ import annotations

import math

import pytest

from backend.rollouts.estimate import DEFAULT_TOKENS_PER_S, VLLM_STARTUP_S
from tests.support.factories import make_generations, make_run, make_verdicts
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


def test_the_review_load_per_reason_comes_from_the_settings_and_the_attempts(client, project):
    h, pid, pset = project
    tid = make_teacher(client, h, pid, backend="openai_compat", model="m", base_url="http://10.0.0.9/v1")
    recipe = {
        "prompt_set_id": pset,
        "teacher_id": tid,
        "stages": ["rollout", "filter", "review"],
        "rollout": {"n": 4, "max_tokens": 10},
        "filter": {"verifiers": {"verifiers": [{"name": "math"}]}},
        "review": {
            "audit": {"share": 0.05, "uncalibrated_share": 0.25},
            "disagreement": {"max_items": 5},
            "judge_unsure": {"max_share": 0.1},
            "judge_unparseable": {"route": False},
            "overlap_share": 0.5,
        },
    }
    r = client.post(f"/api/projects/{pid}/runs/estimate", headers=h, json=recipe)
    assert r.status_code == 200, r.text
    load = r.json()["review"]
    assert r.json()["attempts"] == 40 and load["calibrated"] is False  # no judge: the uncalibrated share
    by = {x["reason"]: x for x in load["reasons"]}
    assert by["audit"]["expected"] == 10 and by["audit"]["routed"]  # 25% of 40
    assert (by["disagreement"]["at_most"], by["judge_unsure"]["at_most"]) == (5, 4)  # 5 items; 10% of 40
    assert by["judge_unparseable"] == {"reason": "judge_unparseable", "routed": False, "expected": None,
                                       "at_most": 0}  # fmt: skip
    # both-reject is off by default; an uncapped reason may take every attempt
    assert not by["judge_rejected"]["routed"] and by["reference_unparseable"]["at_most"] == 40
    assert load["expected"] == 10 and load["at_most"] == 40 and load["tasks_per_item"] == 1.5
    assert any("25% of 40 attempts drawn at random" in b for b in load["basis"])
    # capped harder by max_items; no review stage, no load
    recipe["review"]["max_items"] = 7
    load = client.post(f"/api/projects/{pid}/runs/estimate", headers=h, json=recipe).json()["review"]
    assert load["at_most"] == 7 and {x["reason"]: x for x in load["reasons"]}["audit"]["expected"] == 7
    assert post_estimate(client, h, pid, pset, tid, n=1)["review"] is None
    # a bad setting names its field
    recipe["review"]["disagreement"] = {"max_share": 2}
    r = client.post(f"/api/projects/{pid}/runs/estimate", headers=h, json=recipe)
    assert r.status_code == 422 and "review.disagreement.max_share" in r.text


def test_the_audit_draws_its_calibrated_share_once_random_labels_calibrate_the_judge(client, project):
    from backend.core.db import session_scope
    from backend.reviews.models import HumanLabel, ReviewTask

    h, pid, pset = project
    tid = make_teacher(client, h, pid, backend="openai_compat", model="m", base_url="http://10.0.0.9/v1")
    rubric = {"template": "{answer}", "scale_min": 1, "scale_max": 5}
    assert client.post(f"/api/projects/{pid}/rubrics", headers=h, json=rubric).status_code == 201
    recipe = {
        "prompt_set_id": pset,
        "teacher_id": tid,
        "stages": ["rollout", "judge", "review"],
        "rollout": {"n": 10, "max_tokens": 10},
        "review": {"audit": {"share": 0.1, "uncalibrated_share": 0.5}},
    }

    def audit_expected() -> tuple[bool, int]:
        r = client.post(f"/api/projects/{pid}/runs/estimate", headers=h, json=recipe)
        assert r.status_code == 200, r.text
        load = r.json()["review"]
        return load["calibrated"], {x["reason"]: x for x in load["reasons"]}["audit"]["expected"]

    assert audit_expected() == (False, 50)  # 100 attempts, no labels yet: the uncalibrated share
    # 40 random audit labels on which the judge (score 5 or 1) is right: calibrated
    with session_scope() as s:
        run = make_run(s, project_id=pid, prompt_set_id=pset, status="succeeded")
        gids = make_generations(s, run, 40, content="x")
        make_verdicts(s, run, gids, each=lambda k: {"score": 5.0 if k % 2 else 1.0, "passed": bool(k % 2)})
        for k, g in enumerate(gids):
            s.add(ReviewTask(run_id=run.id, generation_id=g, slot=0, reason="audit", state="done"))
            s.add(
                HumanLabel(
                    project_id=pid, generation_id=g, user_id=None, accepted=bool(k % 2), source="review"
                )
            )
    assert audit_expected() == (True, 10)
    # thresholds set in the recipe are not calibration's: the larger share again
    recipe["judge"] = {"accept_threshold": 4}
    assert audit_expected() == (False, 50)


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
