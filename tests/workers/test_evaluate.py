"""The evaluate stage through the API and a real worker: a local model (transformers_local) and an
API teacher answer held-out prompts; scores, per-sample answers, and the same numbers on a re-run."""

from __future__ import annotations

import pytest

from backend.core.net import free_port
from tests.fakes.fake_openai_server import start_fake_server, stop_fake_server
from tests.support.env import DATA_DIR, unique
from tests.support.prompts import seed_prompt_set, write_jsonl
from tests.support.waiting import wait_run


@pytest.fixture(scope="module")
def teacher_url():
    port = free_port()
    proc = start_fake_server(
        port, "--answers", "42", "--answer-bytes", "200", log_path=DATA_DIR / "fake-eval.log"
    )
    yield f"http://127.0.0.1:{port}/v1"
    stop_fake_server(proc)


def _eval_run(client, h, pid, pset, tid, tiny_model, **settings) -> dict:
    recipe = {
        "prompt_set_id": pset,
        "teacher_id": tid,
        "stages": ["evaluate"],
        "evaluate": {
            "split": "all",
            "models": [{"role": "teacher"}, {"role": "other", "label": "tiny", "model": str(tiny_model)}],
            "max_tokens": 24,
            **settings,
        },
    }
    r = client.post(f"/api/projects/{pid}/runs", headers=h, json={"name": unique("eval"), "recipe": recipe})
    assert r.status_code == 202, r.text
    return wait_run(
        client,
        h,
        pid,
        r.json()["id"],
    )


def test_evaluation_scores_each_model_and_reproduces(client, accounts, tmp_path, teacher_url, tiny_model,
                                                     celery_worker):  # fmt: skip
    owner = accounts.user()
    pid = accounts.project(owner)
    h = owner["headers"]
    rows = [{"prompt": f"six sevens ({i})", "reference": "42"} for i in range(3)]
    rows.append({"prompt": "three plus four", "reference": "7"})
    pset = seed_prompt_set(pid, write_jsonl(tmp_path / "eval.jsonl", rows))
    body = {"name": "t", "backend": "openai_compat", "model": "fake-teacher", "base_url": teacher_url}
    tid = client.post(f"/api/projects/{pid}/teachers", headers=h, json=body).json()["id"]

    run = _eval_run(client, h, pid, pset, tid, tiny_model, k=2, seed=3)
    assert run["status"] == "succeeded", run
    report = run["summary"]["evaluate"]
    assert report["prompts"] == 4 and report["k"] == 2
    teacher, tiny = report["models"]
    assert teacher["label"] == "teacher" and teacher["samples"] == 8
    assert teacher["pass_at_1"] == 0.75 and teacher["pass_at_k"] == 0.75 and teacher["maj_at_k"] == 0.75
    lo, hi = teacher["pass_at_1_ci"]
    assert 0 <= lo <= 0.75 <= hi <= 1
    assert tiny["label"] == "tiny" and tiny["params"] > 0 and tiny["pass_at_1"] == 0.0
    assert tiny["mean_output_tokens"] > 0 and 0 <= tiny["truncation_rate"] <= 1

    # Which prompts each model fails, with its answers, side by side with the teacher's.
    evals = client.get(f"/api/projects/{pid}/runs/{run['id']}/evaluations", headers=h).json()
    assert [e["label"] for e in evals] == ["teacher", "tiny"]
    failed = client.get(
        f"/api/projects/{pid}/evaluations/{evals[0]['id']}/samples", headers=h, params={"passed": "false"}
    ).json()["items"]
    assert len(failed) == 2 and all(s["answer"] == "42" and s["status"] == "wrong" for s in failed)
    same_prompt = client.get(
        f"/api/projects/{pid}/evaluations/{evals[1]['id']}/samples", headers=h,
        params={"prompt_id": failed[0]["prompt_id"]},
    ).json()["items"]  # fmt: skip
    assert len(same_prompt) == 2

    # The same evaluation again: the same config hashes and the same numbers, sampled answers included.
    again = _eval_run(client, h, pid, pset, tid, tiny_model, k=2, seed=3)["summary"]["evaluate"]
    assert again["models"] == [
        {**m, "evaluation_id": a["evaluation_id"]}
        for m, a in zip(report["models"], again["models"], strict=True)
    ]
    texts = [
        [
            s["content"]
            for s in client.get(f"/api/projects/{pid}/evaluations/{e}/samples", headers=h).json()["items"]
        ]
        for e in (tiny["evaluation_id"], again["models"][1]["evaluation_id"])
    ]
    assert texts[0] == texts[1]


def test_an_evaluation_with_nothing_to_evaluate_fails_clearly(client, accounts, tmp_path, celery_worker):
    owner = accounts.user()
    pid = accounts.project(owner)
    pset = seed_prompt_set(pid, write_jsonl(tmp_path / "e.jsonl", [{"prompt": "x", "reference": "1"}]))
    recipe = {"prompt_set_id": pset, "stages": ["evaluate"], "evaluate": {"split": "all"}}
    r = client.post(
        f"/api/projects/{pid}/runs", headers=owner["headers"], json={"name": "e", "recipe": recipe}
    )
    run = wait_run(client, owner["headers"], pid, r.json()["id"])
    assert run["status"] == "failed", run["summary"]["evaluate"]
    assert "no model to evaluate" in run["stages"][0]["error"]


def test_a_model_that_cannot_answer_fails_the_evaluation_instead_of_scoring_zero(
    client, accounts, tmp_path, celery_worker
):
    owner = accounts.user()
    pid = accounts.project(owner)
    pset = seed_prompt_set(pid, write_jsonl(tmp_path / "e.jsonl", [{"prompt": "x", "reference": "1"}]))
    models = [{"role": "other", "label": "ghost", "model": str(tmp_path / "no-such-model")}]
    recipe = {"prompt_set_id": pset, "stages": ["evaluate"], "evaluate": {"split": "all", "models": models}}
    r = client.post(
        f"/api/projects/{pid}/runs", headers=owner["headers"], json={"name": "g", "recipe": recipe}
    )
    run = wait_run(client, owner["headers"], pid, r.json()["id"])
    assert run["status"] == "failed", run["summary"]["evaluate"]
    assert "no-such-model" in run["stages"][0]["error"]
