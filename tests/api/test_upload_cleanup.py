"""Uploads never stay in DATA_DIR/uploads after their import: removed when the import ends (also when
it was cancelled before it started, or failed), and swept by the janitor when a killed worker left one."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

from backend.core.config import get_settings
from tests.support.prompts import import_prompts, write_jsonl


def _uploads() -> set[str]:
    root = get_settings().uploads_dir
    return {p.name for p in root.iterdir()} if root.is_dir() else set()


def test_a_cancelled_queued_import_removes_its_upload(client, accounts, tmp_path, monkeypatch):
    from backend.core import queue

    owner = accounts.user()
    pid = accounts.project(owner)
    before = _uploads()
    # The task is never sent, so no worker (the session's may be running) can start it: the job stays
    # queued until it is cancelled.
    monkeypatch.setattr(queue, "send", lambda *a, **k: "never-sent")
    r = import_prompts(client, owner["headers"], pid, write_jsonl(tmp_path / "c.jsonl", [{"prompt": "a"}]))
    assert r.status_code == 202, r.text
    job = r.json()
    added = _uploads() - before
    assert len(added) == 1
    r = client.post(f"/api/projects/{pid}/jobs/{job['id']}/cancel", headers=owner["headers"])
    assert r.status_code == 202 and r.json()["status"] == "cancelled"
    assert not (added & _uploads())


def test_a_failed_import_removes_its_upload(client, accounts, importer, tmp_path):
    owner = accounts.user()
    pid = accounts.project(owner)
    before = _uploads()
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "ok"}\n{not json\n')
    job = importer(owner["headers"], pid, bad)
    assert job["status"] == "failed"
    assert _uploads() <= before


def test_the_sweep_removes_old_orphans_and_keeps_what_a_waiting_or_live_import_reads(accounts):
    from backend.core.db import session_scope
    from backend.jobs.models import Job
    from backend.jobs.uploads import sweep_orphans
    from backend.runs.models import Status

    owner = accounts.user()
    pid = accounts.project(owner)
    root = get_settings().uploads_dir
    root.mkdir(parents=True, exist_ok=True)
    old = time.time() - get_settings().upload_orphan_after_h * 3600 - 60
    files = {
        name: root / f"sweep-{os.getpid()}-{name}.upload"
        for name in ("orphan", "fresh", "queued", "live", "dead")
    }
    for name, path in files.items():
        path.write_text("x")
        if name != "fresh":
            os.utime(path, (old, old))
    now = datetime.now(UTC)
    long_ago = now - timedelta(hours=get_settings().upload_orphan_after_h + 1)
    with session_scope() as s:
        for name, status, beat in (
            ("queued", Status.queued, None),
            ("live", Status.running, now),
            ("dead", Status.running, long_ago),  # its worker was killed long ago
        ):
            s.add(
                Job(
                    project_id=pid, kind="prompt_import", status=status, heartbeat_at=beat,
                    created_at=long_ago, params={"path": str(files[name].resolve())},
                )
            )  # fmt: skip
    with session_scope() as s:
        sweep_orphans(s)  # (a worker's janitor may have failed the dead job and removed its file first)
    assert {n for n, p in files.items() if p.exists()} == {"fresh", "queued", "live"}
    with session_scope() as s:
        assert sweep_orphans(s) == 0  # idempotent
    for p in files.values():
        p.unlink(missing_ok=True)


def test_a_job_whose_worker_died_fails_as_worker_lost_and_its_upload_goes(accounts):
    from backend.core.db import session_scope
    from backend.jobs import lifecycle as job_lifecycle
    from backend.jobs.models import Job
    from backend.runs.models import Status

    owner = accounts.user()
    pid = accounts.project(owner)
    root = get_settings().uploads_dir
    root.mkdir(parents=True, exist_ok=True)
    paths = {name: root / f"lost-{os.getpid()}-{name}.upload" for name in ("dead", "live")}
    for p in paths.values():
        p.write_text("x")
    now = datetime.now(UTC)
    ids = {}
    with session_scope() as s:
        for name, beat in (("dead", now - timedelta(hours=1)), ("live", now)):
            job = Job(
                project_id=pid, kind="prompt_import", status=Status.running, heartbeat_at=beat,
                params={"path": str(paths[name].resolve())},
            )  # fmt: skip
            s.add(job)
            s.flush()
            ids[name] = job.id
    with session_scope() as s:
        lost = job_lifecycle.fail_lost_jobs(s)
    assert ids["live"] not in lost  # the dead one: this call's, or a running worker's janitor's
    with session_scope() as s:
        dead, live = s.get(Job, ids["dead"]), s.get(Job, ids["live"])
        assert dead.status == Status.failed and dead.error["code"] == "worker_lost"
        assert "submit it again" in dead.error["message"]
        assert live.status == Status.running
    assert not paths["dead"].exists() and paths["live"].exists()
    with session_scope() as s:
        assert ids["dead"] not in job_lifecycle.fail_lost_jobs(s)  # idempotent
    paths["live"].unlink()
