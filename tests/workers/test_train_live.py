"""Training watched while it runs: the stage's metrics carry the pre-flight report before the first step
and the curve as it grows, and each method's own signals (DPO's reward margin and accuracy, GRPO's
reward, its spread and the share of prompts with no reward, with a warning when every reward is 0)."""

from __future__ import annotations

from tests.support.waiting import poll_until, wait_run
from tests.workers.train_helpers import (
    conversations,
    make_snapshot,
    project_with_prompts,
    tiny_student,
    train_run,
)


def test_a_running_sft_exposes_its_curve_and_preflight_report_before_it_ends(
    client, accounts, tmp_path, celery_worker
):
    pid, h, pset = project_with_prompts(client, accounts, tmp_path)
    # six of about 50 tokens and two of about 280: max_length 128 leaves the two out, and says so
    snap = make_snapshot(pid, conversations(6, seed=7, words=8) + conversations(2, seed=8, words=200))
    train = {
        "student": tiny_student(),
        "snapshot_id": snap,
        "max_steps": 500,  # far more than the test waits for: it is cancelled once seen live
        "per_device_batch_size": 2,
        "max_length": 128,
        "save_steps": 1000,
    }
    run = train_run(client, h, pid, pset, train, timeout=0)
    url = f"/api/projects/{pid}/runs/{run['id']}"
    seen: dict = {}

    def live_curve():
        nonlocal seen
        seen = client.get(url, headers=h).json()
        stage = seen["stages"][0]
        assert stage["status"] in ("queued", "running"), seen
        m = stage["metrics"] or {}
        return m if stage["status"] == "running" and len(m.get("series", [])) >= 3 else None

    try:
        m = poll_until(
            live_curve, "three logged steps while the train stage runs", timeout=240, seen=lambda: seen
        )
        assert seen["summary"]["train"] is None  # the run's summary has a stage once it ends
        steps = [p["step"] for p in m["series"]]
        assert steps == sorted(steps) and steps[0] == 1 and m["step"] >= steps[-1]
        assert all(p["loss"] is not None and p["learning_rate"] is not None for p in m["series"])
        assert all(p["grad_norm"] is not None for p in m["series"])
        assert m["max_steps"] == 500 and m["warnings"] == []
        # the pre-flight report was stored before the first step and stays while training runs: what was
        # left out, how many and which
        assert m["examples"] == 6 and m["excluded_too_long"] == 2 and m["max_length"] == 128
        checks = {c["name"]: c for c in m["checks"]}
        assert {"too_long", "eos_trained", "assistant_mask"} <= set(checks)
        assert all(c["passed"] and c["help"] for c in checks.values())
        too_long = checks["too_long"]
        assert too_long["count"] == 2 and too_long["total"] == 8 and "excluded" in too_long["fix"]
        assert [e.split(":")[0] for e in too_long["examples"]] == ["row 10006", "row 10007"]
    finally:  # cancelled even when an assertion failed: 500 steps would hold the worker from the next test
        client.post(f"{url}/cancel", headers=h)
    done = wait_run(client, h, pid, run["id"], timeout=120)
    assert done["status"] == "cancelled"


def test_dpo_reports_its_reward_margin_and_accuracy(client, accounts, tmp_path, celery_worker):
    pid, h, pset = project_with_prompts(client, accounts, tmp_path)
    snap = make_snapshot(pid, conversations(6, seed=9))
    train = {
        "student": tiny_student(),
        "snapshot_id": snap,
        "method": "dpo",
        "max_steps": 3,
        "per_device_batch_size": 2,
        "learning_rate": 1e-3,
        "beta": 0.1,
    }
    run = train_run(client, h, pid, pset, train)
    assert run["status"] == "succeeded", run
    s = run["summary"]["train"]
    assert [p["step"] for p in s["series"]] == [1, 2, 3]
    for p in s["series"]:
        assert p["loss"] is not None and p["reward_margin"] is not None
        assert 0 <= p["reward_accuracy"] <= 1
        assert p["reward"] is None and p["zero_reward_groups"] is None  # grpo's, not dpo's
    assert s["warnings"] == []


def test_grpo_with_no_reward_at_all_warns_that_it_learns_nothing(client, accounts, tmp_path, celery_worker):
    pid, h, pset = project_with_prompts(client, accounts, tmp_path)
    snap = make_snapshot(pid, conversations(4, seed=10), pairs=False)
    train = {
        "student": tiny_student(),
        "snapshot_id": snap,
        "method": "grpo",
        "max_steps": 2,
        "per_device_batch_size": 4,
        "num_generations": 2,
        "max_completion_length": 8,
        "learning_rate": 1e-4,
    }
    # a pattern that matches nothing: every completion scores 0, so every group has no signal
    never = {"name": "regex", "settings": {"pattern": "(?!)", "target": "completion"}}
    run = train_run(client, h, pid, pset, train, filter={"verifiers": {"verifiers": [never]}})
    assert run["status"] == "succeeded", run
    s = run["summary"]["train"]
    assert [p["step"] for p in s["series"]] == [1, 2]
    for p in s["series"]:
        assert p["reward"] == 0 and p["reward_std"] == 0 and p["zero_reward_groups"] == 1
        assert p["reward_margin"] is None
    assert len(s["warnings"]) == 1 and "every reward so far is 0" in s["warnings"][0]
