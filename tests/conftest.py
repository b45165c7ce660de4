"""Test set-up: the session's settings (tests/support/env.py, fixed before any backend import) and the
fixtures. The database and the broker are set up after collection, and only when a selected test is
not marked `pure`; a test that asks for `celery_worker` (directly or through another fixture) is
marked `worker`, and one under tests/api, tests/kernel or tests/reviews `api`. `make test-fast` runs
`-m "(pure or api) and not worker and not slow"` (docs/testing.md)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import env
from tests.support.accounts import Accounts
from tests.support.env import DATA_DIR
from tests.support.prompts import MIXED_ANSWERS, import_prompts
from tests.support.waiting import wait_job
from tests.support.worker import WorkerProcess

IN_PROCESS = {"api", "kernel", "reviews"}  # folders whose tests drive the app in this process


@pytest.hookimpl(tryfirst=True)  # before -m selects: `-m "not worker"` must see the marker
def pytest_collection_modifyitems(session, config, items):
    for item in items:
        if "celery_worker" in item.fixturenames:
            item.add_marker(pytest.mark.worker)
        if Path(item.fspath).parent.name in IN_PROCESS:
            item.add_marker(pytest.mark.api)


def pytest_collection_finish(session):
    """After selection: set up the database and broker only if a selected test is not `pure`."""
    if session.config.option.collectonly or all(i.get_closest_marker("pure") for i in session.items):
        return
    try:
        env.start_services()
    except Exception as e:  # noqa: BLE001 - any failure here means the services are not there
        pytest.exit(
            f"the selected tests need PostgreSQL and Redis ({type(e).__name__}: {e}); "
            "start them (scripts/ensure-services.sh) or select pure tests (-m pure)",
            returncode=3,
        )


def pytest_unconfigure(config):
    env.stop_services()


@pytest.fixture(scope="session")
def sqlite_database() -> str:
    """The embedded SQLite database of the session, migrated once; its URL."""
    from tests.support.databases import migrate_sqlite

    return migrate_sqlite()


@pytest.fixture(params=["postgresql", "sqlite"])
def database(request) -> Iterator[str]:
    """Runs the test once on each database the platform supports; yields the dialect. Ask for it
    first (or through `pytest.mark.usefixtures("database")`) so every session the test opens, the
    app's included, is on it. No worker runs on SQLite here: worker tests stay on PostgreSQL."""
    if request.param == "postgresql":
        yield "postgresql"
        return
    from backend.core.db import get_engine
    from tests.support.databases import engine_on

    with engine_on(request.getfixturevalue("sqlite_database")):
        assert get_engine().dialect.name == "sqlite"  # the switch took: this run is not PostgreSQL again
        yield "sqlite"


@pytest.fixture(params=["postgresql", "sqlite"])
def worker_database(request, celery_worker) -> Iterator[WorkerProcess]:
    """`database` for tests that need the worker: on SQLite the session's worker is restarted on the
    SQLite file (same broker) for the test, and the PostgreSQL one comes back after. Name it first
    among the test's arguments; it yields the worker."""
    if request.param == "postgresql":
        yield celery_worker
        return
    from backend.core.db import get_engine
    from tests.support.databases import engine_on

    url = request.getfixturevalue("sqlite_database")
    celery_worker.stop()
    try:
        with engine_on(url):
            assert get_engine().dialect.name == "sqlite"
            celery_worker.start(DISTILLERY_DATABASE_URL=url)
            yield celery_worker
            celery_worker.stop()
    finally:
        celery_worker.start()


@pytest.fixture(scope="session")
def app():
    from backend.main import create_app

    return create_app()


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c


@pytest.fixture
def accounts(client) -> Accounts:
    return Accounts(client)


@pytest.fixture
def importer(client, celery_worker):
    """Import through the API and the real worker; returns the finished job."""

    def run(headers, project_id: int, path: Path, name: str = "prompts", **form) -> dict:
        r = import_prompts(client, headers, project_id, path, name, **form)
        assert r.status_code == 202, r.text
        assert r.json()["kind"] == "prompt_import" and r.json()["status"] == "queued"
        return wait_job(client, headers, project_id, r.json()["id"])

    return run


@pytest.fixture(scope="session")
def celery_worker() -> Iterator[WorkerProcess]:
    """One worker for the whole session (restarted by tests that kill it)."""
    worker = WorkerProcess().start()
    yield worker
    worker.stop()


@pytest.fixture
def stopped_worker(celery_worker) -> Iterator[WorkerProcess]:
    """The session's worker stopped for the test, which starts it again (with settings of its own) when
    it wants one; afterwards the plain worker runs again for the tests after it."""
    celery_worker.stop()
    yield celery_worker
    celery_worker.stop()
    celery_worker.start()


@pytest.fixture(scope="module")
def teacher_url():
    """A fake OpenAI-compatible teacher (its /v1 URL) whose choice i of every request answers "42" or
    "7" (i % 2): attempts 0 and 2 say 42, 1 and 3 say 7; for MIXED_PROMPTS (tests/support/prompts.py)."""
    from backend.core.net import free_port
    from tests.fakes.fake_openai_server import start_fake_server, stop_fake_server

    port = free_port()
    proc = start_fake_server(
        port, "--answers", MIXED_ANSWERS, "--answer-bytes", "400", log_path=DATA_DIR / "fake-mixed.log"
    )
    yield f"http://127.0.0.1:{port}/v1"
    stop_fake_server(proc)


@pytest.fixture(scope="session")
def tiny_model() -> Path:
    """The tiny model's folder (tests/support/models.py), built once for the session."""
    from tests.support import models

    return models.tiny_model()


@pytest.fixture(scope="session")
def tiny_server(tiny_model):
    """`transformers serve` over the tiny model; yields (base_url, model id)."""
    from backend.core.net import free_port
    from backend.core.processes import spawn, stop, wait_healthy

    model_dir = tiny_model
    port = free_port()
    log_path = DATA_DIR / "transformers-serve.log"
    exe = Path(sys.executable).parent / "transformers"
    proc = spawn(
        [str(exe), "serve", str(model_dir), "--host", "127.0.0.1", "--port", str(port)],
        env={"HF_HUB_OFFLINE": "1"},
        log_path=log_path,
    )
    base = f"http://127.0.0.1:{port}"
    wait_healthy(f"{base}/health", proc, timeout=120, name="transformers serve", log_path=log_path)
    yield f"{base}/v1", str(model_dir)
    stop(proc, grace_s=20, name="transformers serve")


@pytest.fixture
def fresh_login_throttle() -> Iterator[None]:
    """Every test client calls from one address ("testclient"): forget its failed logins around a test
    that makes many, so they do not slow later tests' logins."""
    from sqlalchemy import delete

    from backend.core.db import session_scope
    from backend.users.models import LoginThrottle

    def clear() -> None:
        with session_scope() as s:
            s.execute(delete(LoginThrottle))

    clear()
    yield
    clear()
