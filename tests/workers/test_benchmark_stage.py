"""The benchmark stage through the API and a real worker: lm-evaluation-harness runs the tiny suite
(tests/data/benchmarks/tiny: task YAMLs over local JSONL, no hub) on the tiny model (`hf`) and on a
served endpoint (`local-chat-completions`); the stored scores are lm-eval's own on the same files, and a
reasoning model's <think> block is stripped before scoring."""

from __future__ import annotations

import json
import shutil

import pytest
from rich.console import Console

from backend.core.net import free_port
from tests.fakes.fake_openai_server import start_fake_server, stop_fake_server
from tests.support.env import DATA_DIR, ROOT, unique
from tests.support.prompts import seed_prompt_set, write_jsonl
from tests.support.waiting import wait_run

SUITE = ROOT / "tests" / "data" / "benchmarks" / "tiny"
ARITH = [json.loads(line) for line in (SUITE / "tiny_arith.jsonl").read_text().splitlines()]


def _run(client, h, pid, pset, tid=None, **bench) -> dict:
    recipe = {"prompt_set_id": pset, "stages": ["benchmark"], "benchmark": {"bootstrap_iters": 100, **bench}}
    if tid is not None:
        recipe["teacher_id"] = tid
    r = client.post(f"/api/projects/{pid}/runs", headers=h, json={"name": unique("bench"), "recipe": recipe})
    assert r.status_code == 202, r.text
    return wait_run(client, h, pid, r.json()["id"], timeout=1200)


def _project(client, accounts, tmp_path):
    owner = accounts.user()
    pid = accounts.project(owner)
    pset = seed_prompt_set(pid, write_jsonl(tmp_path / "p.jsonl", [{"prompt": "unused by benchmarks"}]))
    return owner["headers"], pid, pset


def _lm_eval_on_the_files(tmp_path, monkeypatch, model_dir) -> dict:
    """lm-eval itself over a copy of the suite, read the way its own CLI reads a folder (include_path,
    relative data files from the working directory): what the stage must have stored."""
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    copy = tmp_path / "suite"
    shutil.copytree(SUITE, copy)
    monkeypatch.chdir(copy)
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    out = simple_evaluate(
        model="hf",
        model_args={"pretrained": str(model_dir), "dtype": "auto", "batch_size": 1, "device": "cpu"},
        tasks=["tiny_arith", "tiny_mmlu"],
        task_manager=TaskManager(include_path=str(copy), include_defaults=False),
        gen_kwargs={"max_gen_toks": 16},
        apply_chat_template=True,
        bootstrap_iters=100,
        log_samples=False,
        random_seed=0,
        numpy_random_seed=0,
        torch_random_seed=0,
        fewshot_random_seed=0,
    )
    assert out is not None
    return out


def test_the_tiny_model_on_the_tiny_suite_stores_lm_evals_scores(
    client, accounts, tmp_path, monkeypatch, tiny_model, celery_worker
):
    h, pid, pset = _project(client, accounts, tmp_path)
    run = _run(client, h, pid, pset, suites=[{"path": str(SUITE)}], max_gen_toks=16,
               models=[{"role": "other", "label": "tiny", "model": str(tiny_model)}])  # fmt: skip
    assert run["status"] == "succeeded", run
    stored = client.get(f"/api/projects/{pid}/runs/{run['id']}/benchmarks", headers=h).json()
    assert [(r["label"], r["task"]) for r in stored] == [("tiny", "tiny_arith"), ("tiny", "tiny_mmlu")]
    by_task = {r["task"]: r for r in stored}
    assert by_task["tiny_arith"]["samples"] == 8 and by_task["tiny_mmlu"]["samples"] == 20
    assert all(r["lm_eval_version"] == "0.4.13" and len(r["config_hash"]) == 64 for r in stored)

    expected = _lm_eval_on_the_files(tmp_path, monkeypatch, tiny_model)["results"]
    for task, row in by_task.items():
        want = {k: v for k, v in expected[task].items() if "," in k}
        want = {k: (None if v == "N/A" else v) for k, v in want.items()}
        assert row["metrics"] == pytest.approx(want, abs=1e-9), task
    # a log-likelihood score of a random model: a number lm-eval computed, with its standard error
    assert 0 < by_task["tiny_mmlu"]["metrics"]["acc,none"] < 1
    assert by_task["tiny_mmlu"]["metrics"]["acc_stderr,none"] > 0
    # the stage's summary says the same, and the CLI prints it
    summary = run["summary"]["benchmark"]
    assert summary["lm_eval_version"] == "0.4.13"
    assert {t["task"]: t["metrics"] for t in summary["models"][0]["tasks"]} == {
        t: r["metrics"] for t, r in by_task.items()
    }
    from backend.evals.cli import show_benchmarks

    console = Console(record=True, width=200)
    assert show_benchmarks(run["id"], console=console) == 0
    text = console.export_text()
    assert (
        "tiny_mmlu" in text
        and "acc_norm" in text
        and f"{by_task['tiny_mmlu']['metrics']['acc,none']:.4f}" in text
    )


@pytest.fixture
def thinking_teacher(tmp_path):
    """A FAKE reasoning endpoint: each tiny_arith question gets '<think>..</think><think>The answer is
    99.</think>The answer is N.', N right for the first five questions and wrong for the rest."""
    answers = {
        row["question"][
            :40
        ]: f"<think>The answer is 99.</think>The answer is {row['answer'] if i < 5 else 1234}."
        for i, row in enumerate(ARITH)
    }
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(answers))
    port = free_port()
    proc = start_fake_server(port, "--answer-map", str(path), "--answer-bytes", "200",
                             log_path=DATA_DIR / "fake-bench.log")  # fmt: skip
    yield f"http://127.0.0.1:{port}/v1"
    stop_fake_server(proc)


def test_a_served_reasoning_model_is_scored_on_its_answer_not_its_thinking(
    client, accounts, tmp_path, thinking_teacher, celery_worker
):
    h, pid, pset = _project(client, accounts, tmp_path)
    body = {"name": "r1", "backend": "openai_compat", "model": "fake-teacher", "base_url": thinking_teacher,
            "api_key": "sk-bench-secret-000"}  # fmt: skip
    tid = client.post(f"/api/projects/{pid}/teachers", headers=h, json=body).json()["id"]
    suites = [{"path": str(SUITE), "tasks": ["tiny_arith"]}]

    run = _run(client, h, pid, pset, tid, suites=suites, models=[{"role": "teacher"}])
    assert run["status"] == "succeeded", run
    (row,) = client.get(f"/api/projects/{pid}/runs/{run['id']}/benchmarks", headers=h).json()
    assert row["label"] == "teacher" and row["task"] == "tiny_arith" and row["samples"] == 8
    assert row["metrics"]["exact_match,strict"] == pytest.approx(5 / 8)
    assert row["metrics"]["exact_match,flexible"] == pytest.approx(5 / 8)
    assert "sk-bench-secret" not in json.dumps(run) + json.dumps(row)

    # Without the strip the first "The answer is" is the one inside the thinking: every answer is 99.
    raw = _run(client, h, pid, pset, tid, suites=suites, models=[{"role": "teacher"}], strip_think=False)
    (kept,) = client.get(f"/api/projects/{pid}/runs/{raw['id']}/benchmarks", headers=h).json()
    assert kept["metrics"]["exact_match,strict"] == 0.0
    assert kept["config_hash"] != row["config_hash"]  # strip_think is in the hash


def test_a_suite_outside_the_allowed_folders_is_refused_at_creation(client, accounts, tmp_path, monkeypatch):
    from backend.core.config import get_settings

    h, pid, pset = _project(client, accounts, tmp_path)
    monkeypatch.setattr(get_settings(), "benchmark_roots", str(tmp_path / "allowed"))
    recipe = {"prompt_set_id": pset, "stages": ["benchmark"], "benchmark": {"suites": [{"path": str(SUITE)}]}}
    r = client.post(f"/api/projects/{pid}/runs", headers=h, json={"name": "b", "recipe": recipe})
    assert r.status_code == 422, r.text
    assert "DISTILLERY_BENCHMARK_ROOTS" in r.text and "benchmark.suites.0.path" in r.text

    monkeypatch.setattr(get_settings(), "benchmark_roots", "*")
    empty = {**recipe, "benchmark": {"suites": []}}
    r = client.post(f"/api/projects/{pid}/runs", headers=h, json={"name": "b", "recipe": empty})
    assert r.status_code == 422 and "benchmark.suites" in r.text, r.text
    missing = {**recipe, "benchmark": {"suites": [{"path": str(tmp_path / "nothing")}]}}
    r = client.post(f"/api/projects/{pid}/runs", headers=h, json={"name": "b", "recipe": missing})
    assert r.status_code == 422 and "no folder of lm-eval task YAMLs" in r.text, r.text
