"""Thinking-length control through the API and a real worker, against the fake OpenAI-compatible
server: the budget's request (vLLM's thinking_token_budget, else max_tokens = budget + answer allowance)
as the server received it, truncation and each attempt's reasoning tokens recorded; and the evaluation's
accuracy against reasoning length."""

from __future__ import annotations

import httpx
import pytest

from backend.core.net import free_port
from tests.fakes.fake_openai_server import start_fake_server, stop_fake_server
from tests.support.env import DATA_DIR, unique
from tests.support.prompts import seed_prompt_set, write_jsonl
from tests.support.rollouts import all_generations, launch_rollout, rollout_project
from tests.support.waiting import wait_run


@pytest.fixture(scope="module")
def fake():
    port = free_port()
    args = ("--answer-bytes", "400", "--rate-length", "0.3", "--answers", "42")
    proc = start_fake_server(port, *args, log_path=DATA_DIR / "fake-budget.log")
    yield f"http://127.0.0.1:{port}"
    stop_fake_server(proc)


def _stats(base: str) -> dict:
    return httpx.get(f"{base}/stats").json()


def test_budget_is_vllms_field_where_served_else_a_max_tokens_cap_with_truncation_recorded(
    client, accounts, celery_worker, fake, tmp_path
):
    prompts = [f"question {i}" for i in range(6)]
    pid, h, pset, api = rollout_project(client, accounts, tmp_path, fake, prompts)
    vllm = client.post(
        f"/api/projects/{pid}/teachers",
        headers=h,
        json={"name": "r1", "backend": "vllm", "model": "fake-teacher", "base_url": f"{fake}/v1",
              "settings": {"max_model_len": 4096, "reasoning_parser": "deepseek_r1"}},
    ).json()["id"]  # fmt: skip
    seen, runs = [], []
    for tid in (api, vllm):
        httpx.post(f"{fake}/stats/reset")
        run = launch_rollout(
            client, h, pid, pset, tid, n=2, use_cache=False, reasoning_budget=100, answer_tokens=50
        )
        runs.append(wait_run(client, h, pid, run["id"]))
        assert runs[-1]["status"] == "succeeded", runs[-1]
        stats = _stats(fake)
        seen.append((stats["max_tokens"], stats["thinking_token_budget"]))
    # the API teacher: no budget field, max_tokens capped at 100 + 50; the vLLM one: the field, no cap
    assert seen == [({"150": 6}, {"None": 6}), ({"4096": 6}, {"100": 6})]

    gens = all_generations(client, h, pid, runs[0]["id"])
    assert len(gens) == 12
    cut = [g for g in gens if g["finish_reason"] == "length"]
    assert cut and all(g["truncated"] for g in cut)  # the fake cuts about 0.3 of them
    assert runs[0]["summary"]["rollout"]["truncated"] == len(cut)
    # every attempt's reasoning length, from the reasoning's share of the completion's tokens
    assert all(0 < g["reasoning_tokens"] <= g["completion_tokens"] for g in gens)
    whole = [g for g in gens if g["finish_reason"] == "stop"]
    assert all(g["reasoning_tokens"] < g["completion_tokens"] for g in whole)  # an answer follows


def test_evaluation_reports_accuracy_against_reasoning_length(
    client, accounts, celery_worker, fake, tmp_path
):
    owner = accounts.user()
    pid = accounts.project(owner)
    h = owner["headers"]
    rows = [{"prompt": f"six sevens ({i})", "reference": "42"} for i in range(3)]
    rows.append({"prompt": "three plus four", "reference": "7"})
    pset = seed_prompt_set(pid, write_jsonl(tmp_path / "eval.jsonl", rows))
    body = {"name": "t", "backend": "openai_compat", "model": "fake-teacher", "base_url": f"{fake}/v1"}
    tid = client.post(f"/api/projects/{pid}/teachers", headers=h, json=body).json()["id"]
    evaluate = {"split": "all", "models": [{"role": "teacher"}], "max_tokens": 64, "k": 2, "length_bins": 1,
                "length_cutoffs": [1, 100_000]}  # fmt: skip
    recipe = {"prompt_set_id": pset, "teacher_id": tid, "stages": ["evaluate"], "evaluate": evaluate}
    r = client.post(f"/api/projects/{pid}/runs", headers=h, json={"name": unique("eval"), "recipe": recipe})
    assert r.status_code == 202, r.text
    run = wait_run(client, h, pid, r.json()["id"])
    assert run["status"] == "succeeded", run
    (teacher,) = run["summary"]["evaluate"]["models"]
    rep = teacher["reasoning_length"]
    samples = teacher["samples"]
    passed = round(teacher["pass_at_1"] * samples)
    # one bin: every answer with a known length lands in it, split by the verdict
    assert rep["passing"] == [passed] and rep["failing"] == [samples - passed - rep["unknown"]]
    assert rep["edges"][0] == 0 and rep["edges"][1] > 0
    # at a 1-token budget every reasoning is over it (a failure); at 100k nothing is cut
    assert [(b["budget"], b["accuracy"]) for b in rep["at_budget"]] == [
        (1, 0.0),
        (100_000, round(passed / samples, 4)),
    ]
