"""The platform side of the rollout benchmarks: a fresh PostgreSQL database, a prompt set, one real
Celery worker process on Redis, and rollout runs timed by their stage's own start and finish."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PG = "postgresql://postgres@127.0.0.1:5432"
# DISTILLERY_BENCH_BROKER: another Redis db where engineers share the machine
BROKER = os.environ.get("DISTILLERY_BENCH_BROKER", "redis://127.0.0.1:6379/13")


def fresh_db(name: str) -> str:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{name}"')
    return f"{PG}/{name}"


class Platform:
    """Set up once per benchmark; `rollout()` launches a run and waits for it."""

    def __init__(
        self,
        prompts: list[str],
        *,
        queues: str = "cpu,gpu",
        db: str = os.environ.get("DISTILLERY_BENCH_DB", "distillery_bench_rollout"),
    ):
        self.data = Path(tempfile.mkdtemp(prefix="distillery-bench-"))
        self.env = {
            "DISTILLERY_DATABASE_URL": fresh_db(db),
            "DISTILLERY_BROKER_URL": BROKER,
            "DISTILLERY_ENVIRONMENT": "test",
            "DISTILLERY_SECRET_KEY": "bench-secret-key-0123456789",
            "DISTILLERY_DATA_DIR": str(self.data),
            "DISTILLERY_LOG_LEVEL": "WARNING",
        }
        os.environ.update(self.env)
        import redis

        redis.Redis.from_url(BROKER).flushdb()
        from backend.core.db import session_scope
        from backend.core.migrate import upgrade_head
        from backend.projects.service import create_project
        from backend.prompts.schemas import CleaningOptions
        from backend.prompts.service import import_prompt_set
        from backend.users.service import create_user

        upgrade_head()
        src = self.data / "prompts.jsonl"
        src.write_text("".join(json.dumps({"prompt": p}) + "\n" for p in prompts))
        with session_scope() as s:
            user = create_user(s, email="bench@example.com", password="bench-password")
            project = create_project(s, owner=user, name="bench")
            pset, _ = import_prompt_set(
                s,
                project=project,
                user=None,
                name="bench",
                path=src,
                filename=src.name,
                options=CleaningOptions(near_dup_threshold=None),  # bench prompts differ only in numbers
            )
            self.project_id, self.prompt_set_id = project.id, pset.id
        self.worker = subprocess.Popen(
            [sys.executable, "-m", "backend.cli", "worker", "--queues", queues, "--concurrency", "1"],
            cwd=ROOT,
            env={**os.environ, **self.env},
            stdout=open(self.data / "worker.log", "wb"),  # noqa: SIM115 - the child keeps it
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        from workers.celery_app import celery_app

        while not celery_app.control.ping(timeout=0.5):
            if self.worker.poll() is not None:
                raise RuntimeError((self.data / "worker.log").read_text()[-2000:])

    def teacher(self, name: str, **fields: Any) -> int:
        from backend.core.db import session_scope
        from backend.projects.models import Project
        from backend.teachers.schemas import TeacherCreate
        from backend.teachers.service import create_teacher

        with session_scope() as s:
            t = create_teacher(
                s, project=s.get(Project, self.project_id), data=TeacherCreate(name=name, **fields)
            )
            return t.id

    def rollout(self, teacher_id: int, **settings: Any) -> dict[str, Any]:
        """Run one rollout stage to the end; seconds from the stage's start to its finish."""
        from sqlalchemy import func, select

        from backend.core.db import session_scope
        from backend.projects.models import Project
        from backend.runs.lifecycle import enqueue_next_stage, stages_of
        from backend.runs.models import Run
        from backend.runs.schemas import RunCreate
        from backend.runs.service import create_run
        from backend.samples.models import Generation

        recipe = {
            "prompt_set_id": self.prompt_set_id,
            "teacher_id": teacher_id,
            "stages": ["rollout"],
            "rollout": {"split": "all", "use_cache": False, **settings},
        }
        with session_scope() as s:
            run = create_run(
                s, project=s.get(Project, self.project_id), user=None, data=RunCreate(name="b", recipe=recipe)
            )
            enqueue_next_stage(s, run=run)
            run_id = run.id
        while True:
            time.sleep(0.2)
            with session_scope() as s:
                run = s.get(Run, run_id)
                if not run.status.finished:
                    continue
                stage = stages_of(s, run=run)[0]
                stored = s.scalar(
                    select(func.count()).where(Generation.run_id == run_id, Generation.status == "ok")
                )
                tokens = s.scalar(
                    select(func.coalesce(func.sum(Generation.completion_tokens), 0)).where(
                        Generation.run_id == run_id
                    )
                )
                return {
                    "status": run.status.value,
                    "error": run.error,
                    "seconds": (stage.finished_at - stage.started_at).total_seconds(),
                    "stored": stored,
                    "tokens": tokens,
                    "metrics": dict(stage.metrics),
                }

    def close(self) -> None:
        self.worker.terminate()
        try:
            self.worker.wait(30)
        except subprocess.TimeoutExpired:
            self.worker.kill()
