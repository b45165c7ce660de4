"""A train stage's live metrics on GET .../runs/{run_id} while it runs (issue 25 item 5): the curve so far
with each method's signals, the warnings and the pre-flight report, for every member down to a viewer,
and for nobody outside the project (not through another project's path either)."""

from __future__ import annotations

from sqlalchemy import select

from backend.training.schemas import TrainSummary
from tests.support.factories import make_run

NO_REWARD = "every reward so far is 0: the verifiers passed no sampled completion"


def _running_grpo(pid: int) -> tuple[int, int]:
    from backend.core.db import session_scope
    from backend.runs.models import RunStage

    live = TrainSummary(
        method="grpo",
        step=2,
        max_steps=40,
        series=[
            {"step": k, "loss": 0.0, "reward": 0.0, "reward_std": 0.0, "zero_reward_groups": 1.0}
            for k in (1, 2)
        ],
        warnings=[NO_REWARD],
        checks=[
            {
                "name": "too_long",
                "passed": True,
                "count": 77,
                "total": 131,
                "examples": ["row 3: 5000 tokens"],
            }
        ],
        examples=54,
        excluded_too_long=77,
        max_length=4096,
    )
    with session_scope() as s:
        run = make_run(s, project_id=pid, status="running", stages={"train": "running"})
        stage = s.scalars(select(RunStage).where(RunStage.run_id == run.id)).one()
        stage.metrics = live.model_dump(mode="json")
        return run.id, stage.id


def test_a_viewer_reads_a_running_train_stages_curve_signals_and_preflight_report(client, accounts):
    owner, viewer = accounts.user(), accounts.user()
    pid = accounts.project(owner, viewer=viewer)
    run_id, stage_id = _running_grpo(pid)
    r = client.get(f"/api/projects/{pid}/runs/{run_id}", headers=viewer["headers"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["summary"]["train"] is None  # the run's summary is the finished stages'
    (stage,) = body["stages"]
    assert stage["id"] == stage_id and stage["kind"] == "train" and stage["status"] == "running"
    m = stage["metrics"]
    assert [p["step"] for p in m["series"]] == [1, 2]
    assert m["series"][1] == {
        "step": 2,
        "loss": 0.0,
        "learning_rate": None,
        "grad_norm": None,
        "reward": 0.0,
        "reward_std": 0.0,
        "zero_reward_groups": 1.0,
        "reward_margin": None,
        "reward_accuracy": None,
        "ce": None,  # kd's alone
        "kl": None,
    }
    assert m["warnings"] == [NO_REWARD]
    (check,) = m["checks"]
    assert (
        check["name"] == "too_long" and check["count"] == 77 and check["examples"] == ["row 3: 5000 tokens"]
    )
    assert m["excluded_too_long"] == 77 and m["examples"] == 54


def test_no_one_outside_the_project_reads_it(client, accounts):
    owner, stranger = accounts.user(), accounts.user()
    pid = accounts.project(owner)
    other = accounts.project(stranger)
    run_id, _ = _running_grpo(pid)
    assert client.get(f"/api/projects/{pid}/runs/{run_id}", headers=stranger["headers"]).status_code in (
        403,
        404,
    )
    # nor through a project the stranger owns
    r = client.get(f"/api/projects/{other}/runs/{run_id}", headers=stranger["headers"])
    assert r.status_code == 404 and NO_REWARD not in r.text
    assert client.get(f"/api/projects/{pid}/runs/{run_id}").status_code == 401
