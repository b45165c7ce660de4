"""A rollout whose attempts fail does not end green: every attempt failed, or more than the recipe's
max_failed_share, fails the stage and the run with the cause; below it the stage succeeds and its
summary says how many failed. Through the API and a real worker against the fake server."""

from __future__ import annotations

import pytest

from backend.core.net import free_port
from tests.fakes.fake_openai_server import start_fake_server, stop_fake_server
from tests.support.env import DATA_DIR
from tests.support.rollouts import launch_rollout, rollout_project
from tests.support.waiting import wait_run

KEY = "the-right-key-0123456789"


@pytest.fixture(scope="module")
def keyed():
    port = free_port()
    proc = start_fake_server(port, "--api-key", KEY, log_path=DATA_DIR / "fake-keyed.log")
    yield f"http://127.0.0.1:{port}"
    stop_fake_server(proc)


def test_a_wrong_api_key_fails_the_run_with_the_cause(client, accounts, celery_worker, keyed, tmp_path):
    wrong = "a-wrong-key-9876543210"
    pid, h, pset, tid = rollout_project(client, accounts, tmp_path, keyed, ["a?", "b?"], api_key=wrong)
    run = wait_run(client, h, pid, launch_rollout(client, h, pid, pset, tid, n=4)["id"])
    assert run["status"] == "failed", run
    stage = client.get(f"/api/projects/{pid}/runs/{run['id']}/stages", headers=h).json()[0]
    assert stage["status"] == "failed"
    assert stage["error"].startswith("every attempt failed: 8 of 8 attempts failed (http 401"), stage["error"]
    assert "stage rollout: every attempt failed" in run["error"]
    assert wrong not in str(stage) and wrong not in str(run)


@pytest.mark.parametrize(("share", "status"), [(None, "succeeded"), (0.25, "failed")])
def test_a_share_of_failures_past_the_recipes_limit_fails_the_stage(
    client, accounts, celery_worker, keyed, tmp_path, share, status
):
    prompts = ["one?", "two?", "ALWAYS_FAIL three?"]  # the fake server answers 500 to the marker
    pid, h, pset, tid = rollout_project(client, accounts, tmp_path, keyed, prompts, api_key=KEY)
    rollout = {"n": 2, "max_retries": 0, **({"max_failed_share": share} if share is not None else {})}
    run = wait_run(client, h, pid, launch_rollout(client, h, pid, pset, tid, **rollout)["id"])
    assert run["status"] == status, run
    stage = client.get(f"/api/projects/{pid}/runs/{run['id']}/stages", headers=h).json()[0]
    assert stage["metrics"]["partly_failed"].startswith("2 of 6 attempts failed"), stage["metrics"]
    if status == "failed":
        assert "over the recipe's max_failed_share of 0.25" in stage["error"]
    else:
        assert stage["error"] is None
