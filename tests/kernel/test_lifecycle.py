"""The life cycle's transition tables: complete, enforced, and the only way a status changes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from backend.jobs.models import Job
from backend.runs import lifecycle
from backend.runs.lifecycle import TRANSITIONS, IllegalTransition, move
from backend.runs.models import Run, RunStage, StageChunk, Status
from tests.support.factories import make_run, make_stage

ROOT = Path(__file__).resolve().parents[2]


def test_every_entity_has_a_row_for_every_status_and_finished_rows_only_requeue():
    for entity, table in TRANSITIONS.items():
        assert set(table) == set(Status), entity
        assert table[Status.succeeded] == frozenset(), f"{entity}: succeeded is final"
        for frm in (Status.failed, Status.cancelled):
            assert table[frm] <= {Status.pending, Status.queued, frm}, (entity, frm)


@pytest.mark.parametrize(
    ("row", "frm", "to"),
    [
        (Run(id=1), Status.succeeded, Status.running),
        (Run(id=1), Status.failed, Status.succeeded),
        (RunStage(id=2), Status.pending, Status.succeeded),
        (RunStage(id=2), Status.succeeded, Status.pending),
        (StageChunk(id=3), Status.succeeded, Status.queued),
        (Job(id=4), Status.failed, Status.running),
        (Job(id=4), Status.queued, Status.succeeded),
    ],
)
def test_an_illegal_transition_raises_and_changes_nothing(row, frm, to):
    row.status = frm
    with pytest.raises(IllegalTransition, match=f"{frm.value} -> {to.value}"):
        move(row, to)
    assert row.status == frm


def test_moves_stamp_start_and_finish_times():
    stage = RunStage(id=1, status=Status.queued)
    move(stage, Status.running)
    assert stage.started_at is not None and stage.finished_at is None
    move(stage, Status.failed)
    assert stage.finished_at is not None
    move(stage, Status.pending)  # re-queue clears the finish
    assert stage.finished_at is None
    run = Run(id=1, status=Status.running)
    run.started_at = first = stage.started_at
    move(run, Status.running)
    assert run.started_at == first  # a run keeps its first start


def test_only_the_lifecycle_writes_a_status():
    """No module outside backend/runs/lifecycle.py assigns `.status` of a run, stage, chunk or job."""
    pattern = re.compile(r"\b(run|stage|chunk|job|other|row|c|s)\.status\s*(,[^=]*)?=(?!=)")
    offenders = []
    for folder in ("backend", "workers"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.name == "lifecycle.py":
                continue
            for i, line in enumerate(path.read_text().splitlines(), 1):
                if pattern.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()}")
    assert offenders == []


def test_cancel_and_requeue_through_the_api_layer(client, accounts):
    """An API request can finish a stage: cancel ends a queued run at once, requeue brings it back."""
    from backend.core.db import session_scope

    owner = accounts.user()
    pid = accounts.project(owner)
    with session_scope() as s:
        run = make_run(s, project_id=pid, status="pending")
        stage = make_stage(s, run, "profile", status="queued")
        move(run, Status.queued)
        s.flush()
        lifecycle.cancel_run(s, run=run)
        assert (run.status, stage.status) == (Status.cancelled, Status.cancelled)
        lifecycle.requeue_run(s, run=run)
        assert (run.status, stage.status) == (Status.pending, Status.pending)
        lifecycle.finish_stage(s, stage=stage, run=run, status=Status.cancelled)
        assert run.status == Status.cancelled and run.finished_at is not None


def test_elapsed_time_keeps_every_segment_of_a_requeued_or_redelivered_stage():
    from datetime import UTC, datetime, timedelta

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    stage = RunStage(id=1, status=Status.queued, elapsed_before_s=0.0)
    move(stage, Status.running, now=t0)
    move(stage, Status.running, now=t0 + timedelta(seconds=10))  # redelivered after its worker died
    move(stage, Status.pending, now=t0 + timedelta(seconds=25))  # re-queued
    assert stage.elapsed_before_s == 25 and stage.running_seconds(t0 + timedelta(hours=1)) == 25
    move(stage, Status.queued, now=t0 + timedelta(seconds=100))
    move(stage, Status.running, now=t0 + timedelta(seconds=200))
    assert stage.running_seconds(t0 + timedelta(seconds=205)) == 30  # waiting in the queue is not counted
    move(stage, Status.cancelling, now=t0 + timedelta(seconds=206))  # still running until it stops
    move(stage, Status.succeeded, now=t0 + timedelta(seconds=207))
    assert stage.elapsed_before_s == 32 and stage.running_seconds(t0 + timedelta(days=1)) == 32
