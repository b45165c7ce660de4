"""The stage runner in-process against PostgreSQL: running -> succeeded / failed / cancelled,
throttled progress, errors stored then re-raised."""

from __future__ import annotations

import pytest

from tests.support.env import unique


@pytest.fixture
def run_ids(client, accounts, tmp_path):
    """A run with two stages, created without queueing anything."""
    from backend.core.db import session_scope
    from backend.projects.models import Project
    from backend.prompts.service import import_prompt_set
    from backend.runs.schemas import RunCreate
    from backend.runs.service import create_run, stages_of
    from tests.support.prompts import write_jsonl

    owner = accounts.user()
    pid = accounts.project(owner)
    path = write_jsonl(
        tmp_path / "p.jsonl", [{"prompt": " ".join(f"p{i}w{j}" for j in range(i))} for i in range(1, 11)]
    )
    with session_scope() as s:
        project = s.get(Project, pid)
        pset, _ = import_prompt_set(s, project=project, user=None, name="p", path=path, filename="p.jsonl")
        run = create_run(
            s,
            project=project,
            user=None,
            data=RunCreate(name=unique("run"), recipe={"prompt_set_id": pset.id}),
        )
        return run.id, [st.id for st in stages_of(s, run=run)]


def _state(run_id):
    from backend.core.db import session_scope
    from backend.runs.models import Run
    from backend.runs.service import stages_of

    with session_scope() as s:
        run = s.get(Run, run_id)
        return run.status.value, [
            (st.status.value, st.progress_done, st.error) for st in stages_of(s, run=run)
        ]


def test_success_stores_metrics_on_stage_and_run(run_ids, monkeypatch):
    from workers.runner import run_stage
    from workers.stages.profile import profile

    monkeypatch.setattr("backend.runs.lifecycle.enqueue_next_stage", lambda *a, **k: None)
    run_id, (stage_id,) = run_ids
    metrics = run_stage(stage_id, "task-1", profile)
    assert metrics["prompt_count"] == 10
    assert metrics["words"]["min"] == 1 and metrics["words"]["max"] == 10
    assert metrics["words"]["percentiles"]["p50"] == 5.5  # numpy's linear method on 1..10
    status, stages = _state(run_id)
    assert stages == [("succeeded", 10, None)]


def test_failure_is_recorded_then_reraised(run_ids):
    from workers.runner import run_stage

    run_id, (stage_id,) = run_ids

    def boom(ctx):
        ctx.progress(3, 10, force=True)
        raise ValueError("teacher said no")

    with pytest.raises(ValueError, match="teacher said no"):
        run_stage(stage_id, "task-2", boom)
    status, stages = _state(run_id)
    assert status == "failed"
    assert stages == [("failed", 3, "ValueError: teacher said no")]


def test_cancel_stops_a_running_stage_at_its_next_progress_write(run_ids):
    from backend.core.db import session_scope
    from backend.runs.lifecycle import cancel_run
    from backend.runs.models import Run
    from workers.runner import run_stage

    run_id, (stage_id,) = run_ids
    steps = []

    def long_stage(ctx):
        for i in range(100):
            if i == 5:
                with session_scope() as s:
                    cancel_run(s, run=s.get(Run, run_id))
            ctx.progress(i, 100)
            steps.append(i)
        return {"finished": True}

    assert run_stage(stage_id, "task-3", long_stage) is None
    assert steps == [0, 1, 2, 3, 4]
    status, stages = _state(run_id)
    assert status == "cancelled" and stages[0][0] == "cancelled" and stages[0][1] == 5


def test_cancelled_stage_never_starts_and_duplicate_delivery_is_ignored(run_ids, monkeypatch):
    from backend.core.db import session_scope
    from backend.runs.lifecycle import cancel_run
    from backend.runs.models import Run
    from workers.runner import run_stage

    run_id, (stage_id,) = run_ids
    with session_scope() as s:
        cancel_run(s, run=s.get(Run, run_id))
    calls = []
    assert run_stage(stage_id, "t", lambda ctx: calls.append(1) or {}) is None
    assert calls == [] and _state(run_id)[0] == "cancelled"


def test_progress_writes_are_throttled(run_ids, monkeypatch):
    from backend.core import db
    from workers.runner import StageContext

    run_id, (stage_id,) = run_ids
    ctx = StageContext(stage_id, run_id, {}, None)
    ctx._interval = 3600
    writes = []
    real = db.session_scope
    monkeypatch.setattr("workers.progress.session_scope", lambda: writes.append(1) or real())
    for i in range(1000):
        ctx.progress(i, 1000)
    assert len(writes) == 1
    ctx.progress(1000, 1000, force=True)
    assert len(writes) == 2 and _state(run_id)[1][0][1] == 1000


def test_a_failure_quoting_a_key_is_stored_redacted_on_stage_and_run(run_ids):
    from backend.core.db import session_scope
    from backend.runs.models import Run
    from workers.runner import run_stage

    run_id, (stage_id,) = run_ids

    def boom(ctx):
        raise ValueError("401 for api_key=hunter2-planted-secret (sk-live-abcdef0123456789)")

    with pytest.raises(ValueError):
        run_stage(stage_id, "task-k", boom)
    (stage,) = _state(run_id)[1]
    with session_scope() as s:
        run_error = s.get(Run, run_id).error
    for stored in (stage[2], run_error):
        assert "401 for api_key=[REDACTED]" in stored
        assert "hunter2" not in stored and "sk-live" not in stored


def test_a_runs_profile_counts_the_split_its_rollout_covers(client, accounts, tmp_path, monkeypatch):
    """The rollout covers the train split by default: the profile shown beside it counts those prompts,
    and says which split it counted; a run without a rollout profiles the whole set."""
    from sqlalchemy import update

    from backend.core.db import session_scope
    from backend.projects.models import Project
    from backend.prompts.models import Prompt
    from backend.prompts.service import import_prompt_set
    from backend.runs.schemas import RunCreate
    from backend.runs.service import create_run, stages_of
    from tests.support.prompts import write_jsonl
    from tests.support.teachers import make_teacher
    from workers.runner import run_stage
    from workers.stages.profile import profile

    monkeypatch.setattr("backend.runs.lifecycle.enqueue_next_stage", lambda *a, **k: None)
    owner = accounts.user()
    pid = accounts.project(owner)
    tid = make_teacher(
        client, owner["headers"], pid, backend="openai_compat", model="m", base_url="http://10.0.0.9/v1"
    )
    path = write_jsonl(tmp_path / "p.jsonl", [{"prompt": f"prompt {i} " + "w " * i} for i in range(10)])
    with session_scope() as s:
        project = s.get(Project, pid)
        pset, _ = import_prompt_set(s, project=project, user=None, name="p", path=path, filename="p.jsonl")
        # three prompts held out for evaluation
        s.execute(
            update(Prompt).where(Prompt.prompt_set_id == pset.id, Prompt.position > 8).values(split="eval")
        )
        s.execute(
            update(Prompt).where(Prompt.prompt_set_id == pset.id, Prompt.position == 1).values(split="eval")
        )
        stage_of = {}
        for name, recipe in (
            ("with-rollout", {"teacher_id": tid, "stages": ["profile", "rollout"]}),
            (
                "eval-rollout",
                {"teacher_id": tid, "stages": ["profile", "rollout"], "rollout": {"split": "eval"}},
            ),
            ("alone", {"stages": ["profile"]}),
        ):
            data = RunCreate(name=unique(name), recipe={"prompt_set_id": pset.id, **recipe})
            run = create_run(s, project=project, user=None, data=data)
            stage_of[name] = stages_of(s, run=run)[0].id
    got = {name: run_stage(stage_id, f"task-{name}", profile) for name, stage_id in stage_of.items()}
    assert (got["with-rollout"]["split"], got["with-rollout"]["prompt_count"]) == ("train", 7)
    assert (got["eval-rollout"]["split"], got["eval-rollout"]["prompt_count"]) == ("eval", 3)
    assert (got["alone"]["split"], got["alone"]["prompt_count"]) == ("all", 10)
    # the train split's lengths only: prompt 0 (position 1, the shortest) is held out
    assert got["with-rollout"]["words"]["min"] == 3 and got["alone"]["words"]["min"] == 2
