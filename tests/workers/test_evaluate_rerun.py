"""An evaluate stage that runs again (its worker SIGKILLed and the janitor re-queuing it, or a cancel
then a re-queue) replaces what it wrote: one evaluation per model, never two, and each with its own
answers only."""

from __future__ import annotations

import pytest

from backend.core.net import free_port
from tests.fakes.fake_openai_server import start_fake_server, stop_fake_server
from tests.support.env import DATA_DIR, unique
from tests.support.prompts import seed_prompt_set, write_jsonl
from tests.support.waiting import poll_until, wait_run

FAST = {"DISTILLERY_STALE_AFTER_S": "2"}
PROMPTS = 4


@pytest.fixture(scope="module")
def slow_teacher():
    """An API teacher that takes 3 s an answer: long enough to kill or cancel the stage in it."""
    port = free_port()
    proc = start_fake_server(
        port, "--answers", "42", "--latency-s", "3", log_path=DATA_DIR / "fake-eval-rerun.log"
    )
    yield f"http://127.0.0.1:{port}/v1"
    stop_fake_server(proc)


def _start(client, accounts, tmp_path, teacher_url: str, tiny_model):
    owner = accounts.user()
    pid = accounts.project(owner)
    h = owner["headers"]
    rows = [{"prompt": f"six sevens ({i})", "reference": "42"} for i in range(PROMPTS)]
    pset = seed_prompt_set(pid, write_jsonl(tmp_path / f"{unique('ev')}.jsonl", rows))
    body = {"name": "t", "backend": "openai_compat", "model": "fake-teacher", "base_url": teacher_url}
    tid = client.post(f"/api/projects/{pid}/teachers", headers=h, json=body).json()["id"]
    recipe = {
        "prompt_set_id": pset,
        "teacher_id": tid,
        "stages": ["evaluate"],
        "evaluate": {
            "split": "all",
            # the local model first (seconds), then the slow teacher, in which the stage is stopped
            "models": [{"role": "other", "label": "tiny", "model": str(tiny_model)}, {"role": "teacher"}],
            "max_tokens": 8,
        },
    }
    r = client.post(f"/api/projects/{pid}/runs", headers=h, json={"name": unique("ev"), "recipe": recipe})
    assert r.status_code == 202, r.text
    return h, pid, r.json()["id"]


def _evaluations(client, h, pid, run_id) -> list[dict]:
    return client.get(f"/api/projects/{pid}/runs/{run_id}/evaluations", headers=h).json()


def _wait_first_evaluation(client, h, pid, run_id, timeout: float = 180) -> dict:
    evals = poll_until(
        lambda: _evaluations(client, h, pid, run_id), "the first model's evaluation", timeout=timeout
    )
    (first,) = evals
    assert first["label"] == "tiny"
    return first


def _check_once(client, h, pid, done: dict, first: dict) -> None:
    assert done["status"] == "succeeded", done
    evals = _evaluations(client, h, pid, done["id"])
    assert sorted(e["label"] for e in evals) == ["teacher", "tiny"], evals  # one per model, not three
    report = done["summary"]["evaluate"]
    assert {m["evaluation_id"] for m in report["models"]} == {e["id"] for e in evals}
    assert first["id"] not in {e["id"] for e in evals}  # the earlier attempt's row was replaced
    for e in evals:
        samples = client.get(f"/api/projects/{pid}/evaluations/{e['id']}/samples", headers=h).json()
        assert len(samples["items"]) == PROMPTS
    from sqlalchemy import func, select

    from backend.core.db import session_scope
    from backend.evals.models import EvalSample, Evaluation

    with session_scope() as s:
        assert s.scalar(select(func.count()).where(Evaluation.run_id == done["id"])) == 2
        n = s.scalar(
            select(func.count())
            .select_from(EvalSample)
            .join(Evaluation, Evaluation.id == EvalSample.evaluation_id)
            .where(Evaluation.run_id == done["id"])
        )
        assert n == 2 * PROMPTS


def test_a_sigkill_mid_evaluate_leaves_one_evaluation_per_model(
    client, accounts, tmp_path, slow_teacher, tiny_model, stopped_worker
):
    stopped_worker.start(**FAST)
    h, pid, run_id = _start(client, accounts, tmp_path, slow_teacher, tiny_model)
    first = _wait_first_evaluation(client, h, pid, run_id)
    stopped_worker.kill()  # in the teacher's answers: the tiny model's evaluation is committed
    run = client.get(f"/api/projects/{pid}/runs/{run_id}", headers=h).json()
    assert run["status"] == "running", run
    stopped_worker.start(**FAST)  # its janitor re-queues the stage; the whole evaluation runs again
    done = wait_run(client, h, pid, run_id, timeout=240)
    assert done["stages"][0]["workers_lost"] >= 1
    _check_once(client, h, pid, done, first)


def test_cancel_mid_evaluate_then_requeue_leaves_one_evaluation_per_model(
    client, accounts, tmp_path, slow_teacher, tiny_model, celery_worker
):
    h, pid, run_id = _start(client, accounts, tmp_path, slow_teacher, tiny_model)
    first = _wait_first_evaluation(client, h, pid, run_id)
    url = f"/api/projects/{pid}/runs/{run_id}"
    assert client.post(f"{url}/cancel", headers=h).status_code == 202
    cancelled = wait_run(client, h, pid, run_id)
    assert cancelled["status"] == "cancelled", cancelled
    assert len(_evaluations(client, h, pid, run_id)) == 1
    r = client.post(f"{url}/requeue", headers=h)
    assert r.status_code == 202, r.text
    done = wait_run(client, h, pid, run_id, timeout=240)
    _check_once(client, h, pid, done, first)
