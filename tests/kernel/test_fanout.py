"""The generic fan-out on PostgreSQL, tested once for every stage that uses it: plan, claim,
take over (SKIP LOCKED and stale heartbeats), settle (complete, fail, cancel) and re-queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from backend.core.db import session_scope
from backend.runs import lifecycle
from backend.runs.chunks import add_counters, chunk_totals, plan_chunks
from backend.runs.models import Run, RunStage, StageChunk, Status
from tests.support.factories import make_run, make_stage
from workers.fanout import Fanout


def _summary(session, stage):
    totals, statuses = chunk_totals(session, stage_id=stage.id)
    done = int(totals.get("done", 0))
    return {
        "generations": done, "succeeded": done, "failed": 0, "truncated": 0, "from_cache": 0,
        "failures": totals.get("failures", {}), "prompt_tokens": 0, "completion_tokens": 0,
        "tokens_per_s": 0.0, "completions_per_s": 0.0, "cost_usd": 0.0, "gpu_seconds": 0.0,
        "elapsed_s": 0.0, "chunks": statuses,
    }  # fmt: skip


FAN = Fanout(kind="rollout", summarize=_summary, done_of=lambda m: m["generations"])


def _ids(s, chunk, stage, run):
    return chunk.id


@pytest.fixture(autouse=True)
def _sends(monkeypatch):
    """What re-queues send, recorded instead of sent: the session's worker would otherwise start these
    hand-made stages and move them on while a test reads them."""
    from backend.core import queue

    sent: list[tuple] = []

    def send(task, args, **kwargs):
        sent.append((task, args))
        return f"unsent-{len(sent)}"

    monkeypatch.setattr(queue, "send", send)
    return sent


@pytest.fixture
def stage_id(accounts):
    """A running one-stage run whose stage has 10 items planned as chunks of 4, 4 and 2, queued."""
    owner = accounts.user()
    pid = accounts.project(owner)
    with session_scope() as s:
        run = make_run(s, project_id=pid, status="queued")
        stage = make_stage(s, run, "rollout", status="queued")
        assert lifecycle.claim_stage(s, stage=stage, run=run, task_id="stage-task")
        items = plan_chunks(s, stage_id=stage.id, positions=select(func.generate_series(0, 9)), chunk_size=4)
        assert items == 10
        assert (
            plan_chunks(s, stage_id=stage.id, positions=select(func.generate_series(0, 99)), chunk_size=4)
            == 10
        )
        lifecycle.queue_chunks(s, stage_id=stage.id)
        return stage.id


def _chunks(stage_id):
    with session_scope() as s:
        return [(c.index, c.first_position, c.last_position, c.items, c.status.value, c.task_id)
                for c in lifecycle.chunks_of(s, stage_id=stage_id)]  # fmt: skip


def _stage_run(stage_id):
    with session_scope() as s:
        stage = s.get(RunStage, stage_id)
        run = s.get(Run, stage.run_id)
        return stage.status, run.status, stage.error, dict(stage.metrics or {})


def test_plan_cuts_ranges_once(stage_id):
    assert [c[:5] for c in _chunks(stage_id)] == [
        (0, 0, 3, 4, "queued"),
        (1, 4, 7, 4, "queued"),
        (2, 8, 9, 2, "queued"),
    ]


def test_takeover_skips_a_chunk_another_task_holds_locked(stage_id):
    ids = [c.id for c in _all(stage_id)]
    first = FAN.claim(stage_id, ids[0], "t1", _ids)
    assert first == ids[0]
    with session_scope() as other:  # another task's claim transaction, still open
        other.execute(select(StageChunk).where(StageChunk.id == ids[1]).with_for_update()).scalar_one()
        taken = FAN.claim(stage_id, None, "t1", _ids)
    assert taken == ids[2]
    assert FAN.claim(stage_id, None, "t1", _ids) == ids[1]  # lock released: the next queued one
    assert FAN.claim(stage_id, None, "t1", _ids) is None  # nothing queued is left


def test_a_live_chunk_is_left_alone_and_a_stale_one_is_taken_over(stage_id):
    cid = _all(stage_id)[0].id
    assert FAN.claim(stage_id, cid, "t1", _ids) == cid
    assert FAN.claim(stage_id, cid, "t2", _ids) is None  # fresh heartbeat: t1 is on it
    with session_scope() as s:
        s.get(StageChunk, cid).heartbeat_at = datetime.now(UTC) - timedelta(hours=1)
    assert FAN.claim(stage_id, cid, "t2", _ids) == cid  # its worker died: take it over
    assert _chunks(stage_id)[0][5] == "t2"


def test_the_last_success_completes_the_stage_with_the_summed_counters(stage_id):
    chunks = _all(stage_id)
    for i, c in enumerate(chunks):
        assert FAN.claim(stage_id, c.id, f"t{i}", _ids) == c.id
        with session_scope() as s:
            row = s.get(StageChunk, c.id)
            row.counters = add_counters(row.counters, {"done": c.items, "failures": {"x": 1}})
        FAN.settle(stage_id, c.id, Status.succeeded, None)
        status, run_status, _, metrics = _stage_run(stage_id)
        if i < len(chunks) - 1:
            assert (status, run_status) == (Status.running, Status.running)
    assert (status, run_status) == (Status.succeeded, Status.succeeded)
    assert metrics["succeeded"] == 10 and metrics["failures"] == {"x": 3}
    assert metrics["chunks"] == {"succeeded": 3}


def test_a_failed_chunk_fails_the_stage_and_requeue_resets_only_unfinished_chunks(stage_id, monkeypatch):
    from backend.core.config import get_settings

    a, b, c = _all(stage_id)
    FAN.claim(stage_id, a.id, "t", _ids)
    FAN.settle(stage_id, a.id, Status.succeeded, None)
    FAN.claim(stage_id, b.id, "t", _ids)
    FAN.settle(stage_id, b.id, Status.failed, "teacher said no")
    status, run_status, error, _ = _stage_run(stage_id)
    assert (status, run_status) == (Status.failed, Status.failed)
    assert error == "chunk 1: teacher said no"
    assert FAN.claim(stage_id, c.id, "t", _ids) is None  # the stage no longer runs
    assert [x[4] for x in _chunks(stage_id)] == ["succeeded", "failed", "cancelled"]

    monkeypatch.setattr(get_settings(), "stale_after_s", 0.0)
    with session_scope() as s:
        run = s.get(Run, s.get(RunStage, stage_id).run_id)
        lifecycle.requeue_run(s, run=run)
    assert [x[4] for x in _chunks(stage_id)] == ["succeeded", "pending", "pending"]
    assert _stage_run(stage_id)[:2] == (Status.pending, Status.pending)


def test_cancel_ends_the_stage_once_no_chunk_runs(stage_id):
    a, b, _ = _all(stage_id)
    FAN.claim(stage_id, a.id, "t", _ids)
    FAN.claim(stage_id, b.id, "u", _ids)
    with session_scope() as s:
        lifecycle.cancel_run(s, run=s.get(Run, s.get(RunStage, stage_id).run_id))
    FAN.settle(stage_id, a.id, Status.cancelled, None)
    assert _stage_run(stage_id)[0] == Status.cancelling  # b still runs
    FAN.settle(stage_id, b.id, Status.cancelled, None)
    assert _stage_run(stage_id)[:2] == (Status.cancelled, Status.cancelled)


def _all(stage_id):
    with session_scope() as s:
        chunks = lifecycle.chunks_of(s, stage_id=stage_id)
        s.expunge_all()
        return chunks


def _age(stage_id, *, hours: float = 1) -> None:
    """Make the stage and its running chunks look as if their worker died `hours` ago."""
    old = datetime.now(UTC) - timedelta(hours=hours)
    with session_scope() as s:
        stage = s.get(RunStage, stage_id)
        stage.heartbeat_at = stage.started_at = old
        for c in lifecycle.chunks_of(s, stage_id=stage_id):
            if c.status == Status.running:
                c.heartbeat_at = old


def _lost(stage_id) -> int:
    with session_scope() as s:
        return s.get(RunStage, stage_id).workers_lost


def test_taking_over_a_dead_tasks_chunk_counts_a_lost_worker_and_fails_past_the_limit(stage_id, monkeypatch):
    from backend.core.config import get_settings

    monkeypatch.setattr(get_settings(), "max_requeues", 1)
    ids = [c.id for c in _all(stage_id)]
    assert FAN.claim(stage_id, ids[0], "t1", _ids) == ids[0]
    _age(stage_id)
    # A task whose own work ran dry takes the dead task's chunk (before the queued ones after it).
    assert FAN.claim(stage_id, None, "t2", _ids) == ids[0] and _lost(stage_id) == 1
    _age(stage_id)
    assert FAN.claim(stage_id, None, "t3", _ids) is None  # lost twice with a limit of 1
    status, run_status, error, _ = _stage_run(stage_id)
    assert (status, run_status) == (Status.failed, Status.failed)
    assert error.startswith("worker lost 2 times (DISTILLERY_MAX_REQUEUES=1)")


def test_the_janitor_requeues_a_stalled_stage_once_even_when_several_workers_check_at_once(stage_id):
    import threading

    ids = [c.id for c in _all(stage_id)]
    assert FAN.claim(stage_id, ids[0], "t1", _ids) == ids[0]
    with session_scope() as s:
        run_id = s.get(RunStage, stage_id).run_id
    # Other tests' runs share this database: each check below looks only at this one.
    with session_scope() as s:  # the run is a live one while its chunk beats
        assert run_id not in lifecycle.requeue_stalled(s)
    _age(stage_id)
    barrier, acted = threading.Barrier(4), []

    def check():
        barrier.wait()
        with session_scope() as s:
            acted.extend(lifecycle.requeue_stalled(s))

    threads = [threading.Thread(target=check) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert acted.count(run_id) == 1  # one of the four did it; the others skipped the locked or re-queued run
    assert _lost(stage_id) == 1
    status, run_status, _, _ = _stage_run(stage_id)
    assert (status, run_status) == (Status.queued, Status.queued)  # sent again as a new task
    assert {c[4] for c in _chunks(stage_id)} == {"pending"}  # its stage task re-plans and re-sends them
    with session_scope() as s:
        assert run_id not in lifecycle.requeue_stalled(s)  # idempotent: it is not stalled any more


def test_the_janitor_leaves_waiting_and_reviewing_stages_and_ends_a_dead_cancel(stage_id):
    with session_scope() as s:
        run_id = s.get(RunStage, stage_id).run_id
    _age(stage_id)  # every chunk queued, none running: waiting for a free worker, not lost
    with session_scope() as s:
        assert run_id not in lifecycle.requeue_stalled(s)
    ids = [c.id for c in _all(stage_id)]
    assert FAN.claim(stage_id, ids[0], "t1", _ids) == ids[0]
    with session_scope() as s:
        stage = s.get(RunStage, stage_id)
        lifecycle.cancel_run(s, run=s.get(Run, stage.run_id))
    _age(stage_id)  # cancelling, and its worker died before it saw the cancel
    with session_scope() as s:
        assert run_id in lifecycle.requeue_stalled(s)
    status, run_status, _, _ = _stage_run(stage_id)
    assert (status, run_status) == (Status.cancelled, Status.cancelled)
    assert {c[4] for c in _chunks(stage_id)} == {"cancelled"}


def test_a_review_stage_waiting_for_people_is_never_requeued(accounts):
    owner = accounts.user()
    pid = accounts.project(owner)
    with session_scope() as s:
        run = make_run(s, project_id=pid, status="queued")
        stage = make_stage(s, run, "review", status="queued")
        assert lifecycle.claim_stage(s, stage=stage, run=run, task_id="review-task")
        stage_id, run_id = stage.id, run.id
    _age(stage_id, hours=48)
    with session_scope() as s:
        assert run_id not in lifecycle.requeue_stalled(s)
    assert _stage_run(stage_id)[0] == Status.running


# A key as a provider's or library's message may quote it: neither the raw key nor its text may reach
# a stored error (chunk, stage, run), which every viewer of the project reads.
PLANTED = "connect failed: api_key=hunter2-planted-secret, Authorization: Bearer sk-live-abcdef0123456789"


def _stored_errors(stage_id) -> list[str]:
    with session_scope() as s:
        stage = s.get(RunStage, stage_id)
        chunks = [c.error for c in lifecycle.chunks_of(s, stage_id=stage_id) if c.error]
        return [stage.error, s.get(Run, stage.run_id).error, *chunks]


def _assert_scrubbed(errors: list[str]) -> None:
    assert len(errors) == 3 and all("[REDACTED]" in e and "connect failed" in e for e in errors), errors
    assert not any("hunter2" in e or "sk-live" in e for e in errors), errors


def test_a_failing_chunk_body_stores_its_error_redacted(stage_id):
    a, *_ = _all(stage_id)

    def body(job):
        raise RuntimeError(PLANTED)

    with pytest.raises(RuntimeError):
        FAN.run_chunk(stage_id, a.id, "t", _ids, body)
    _assert_scrubbed(_stored_errors(stage_id))


def test_a_failing_rollout_chunk_stores_its_error_redacted(stage_id, monkeypatch):
    from workers.stages.rollout import chunk as rollout_chunk

    async def drive(job, task_id):
        raise ConnectionError(PLANTED)

    monkeypatch.setattr(rollout_chunk, "build_job", _ids)
    monkeypatch.setattr(rollout_chunk, "_drive", drive)
    a, *_ = _all(stage_id)
    with pytest.raises(ConnectionError):
        rollout_chunk.run_chunk(stage_id, a.id, "t")
    _assert_scrubbed(_stored_errors(stage_id))


def test_a_settled_error_is_scrubbed_and_bounded_at_the_sink(stage_id):
    a, *_ = _all(stage_id)
    FAN.claim(stage_id, a.id, "t", _ids)
    FAN.settle(stage_id, a.id, Status.failed, PLANTED + " x" * 5000)
    errors = _stored_errors(stage_id)
    _assert_scrubbed(errors)
    assert all(len(e) <= 4000 for e in errors)


def test_a_claim_whose_inputs_are_refused_fails_the_chunk_and_the_stage_at_once(stage_id):
    """A build that raises a user error (the run's teacher deleted since the stage was planned): a
    rolled-back claim would leave the chunk queued for the janitor to re-send forever."""
    from backend.core.errors import Invalid

    def refuse(s, chunk, stage, run):
        raise Invalid("the run's teacher no longer exists", code="teacher_missing")

    first = _all(stage_id)[0]
    assert FAN.claim(stage_id, first.id, "t", refuse) is None
    status, run_status, error, _ = _stage_run(stage_id)
    assert (status, run_status) == (Status.failed, Status.failed)
    assert error == "chunk 0: the run's teacher no longer exists"
    assert [c[4] for c in _chunks(stage_id)] == ["failed", "queued", "queued"]
    assert FAN.claim(stage_id, None, "t", _ids) is None  # the stage no longer runs: nothing is taken
