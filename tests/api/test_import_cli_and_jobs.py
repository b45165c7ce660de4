"""The CLI import (same code path as the API), import jobs' progress, clean-up and cancellation."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.env import run_cli
from tests.support.prompts import write_jsonl

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return run_cli(*args, timeout=120)


@pytest.mark.slow  # the CLI in processes of its own
def test_cli_import_stores_a_version(client, accounts, tmp_path):
    owner = accounts.user()
    pid = accounts.project(owner)
    name = client.get(f"/api/projects/{pid}", headers=owner["headers"]).json()["name"]
    path = write_jsonl(
        tmp_path / "p.jsonl", [{"question": f"What is {i}+1?", "answer": f"#### {i + 1}"} for i in range(25)]
    )
    done = _cli("prompts", "import", str(path), "--project", name, "--name", "cli-set")
    assert done.returncode == 0, done.stderr
    assert "25 prompts stored" in done.stderr
    sets = client.get(f"/api/projects/{pid}/prompt-sets", headers=owner["headers"]).json()
    assert [(s["name"], s["version"], s["prompt_count"]) for s in sets] == [("cli-set", 1, 25)]
    # Once committed, the CLI queued the set's search indexing for a worker.
    from backend.core.db import session_scope
    from backend.jobs.models import Job

    with session_scope() as db:
        jobs = [(j.kind, j.params) for j in db.query(Job).filter(Job.project_id == pid)]
    assert jobs == [("prompt_search_index", {"prompt_set_id": sets[0]["id"]})]


@pytest.mark.slow  # the CLI in processes of its own
def test_cli_import_reports_bad_rows_and_stores_nothing(client, accounts, tmp_path):
    owner = accounts.user()
    pid = accounts.project(owner)
    path = tmp_path / "bad.jsonl"
    path.write_text('{"prompt": "fine"}\n{"prompt": ""}\n')
    done = _cli("prompts", "import", str(path), "--project", str(pid), "--name", "x")
    assert done.returncode == 1
    assert "row 2: prompt: the prompt is empty (empty_prompt)" in done.stderr
    assert client.get(f"/api/projects/{pid}/prompt-sets", headers=owner["headers"]).json() == []
    unknown = _cli("prompts", "import", str(path), "--project", "no-such-project", "--name", "x")
    assert unknown.returncode != 0 and "no project 'no-such-project'" in unknown.stderr


@pytest.mark.slow  # the CLI in processes of its own
def test_cli_import_reads_a_dataset_split_with_hub(client, accounts, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    owner = accounts.user()
    pid = accounts.project(owner)
    repo = tmp_path / "repo"
    (repo / "data").mkdir(parents=True)
    rows = [{"problem": f"What is {i}*3?", "solution": f"\\boxed{{{3 * i}}}"} for i in range(7)]
    pq.write_table(pa.Table.from_pylist(rows), repo / "data" / "test-00000-of-00001.parquet")
    done = _cli(
        "prompts", "import", str(repo), "--hub", "--split", "test", "--project", str(pid), "--name", "h"
    )
    assert done.returncode == 0, done.stderr
    assert "7 prompts stored" in done.stderr
    sets = client.get(f"/api/projects/{pid}/prompt-sets", headers=owner["headers"]).json()
    assert [(s["name"], s["prompt_count"], s["source"]) for s in sets] == [("h", 7, f"hub:{repo} (test)")]
    offline = _cli("prompts", "import", "openai/gsm8k", "--hub", "--project", str(pid), "--name", "g")
    assert offline.returncode == 1 and "HF_HUB_OFFLINE is set" in offline.stderr
    missing = _cli("prompts", "import", "openai/gsm8k", "--project", str(pid), "--name", "g")  # no --hub
    assert missing.returncode == 2 and "add --hub" in missing.stderr
    assert len(client.get(f"/api/projects/{pid}/prompt-sets", headers=owner["headers"]).json()) == 1
    from backend.core.config import get_settings

    assert not list(get_settings().uploads_dir.glob("*.hub.json"))  # the spec files are gone


def test_import_job_reports_progress_and_deletes_the_upload(client, accounts, importer, tmp_path):
    from backend.core.config import get_settings

    owner = accounts.user()
    pid = accounts.project(owner)
    path = write_jsonl(tmp_path / "p.jsonl", [{"prompt": f"prompt number {i}"} for i in range(12_345)])
    job = importer(owner["headers"], pid, path)
    assert job["status"] == "succeeded"
    assert job["progress_done"] == job["progress_total"] == 12_345
    assert job["result"]["prompt_set"]["prompt_count"] == 12_345
    assert list(get_settings().uploads_dir.glob("*.upload")) == []
    listed = client.get(f"/api/projects/{pid}/jobs", headers=owner["headers"]).json()["items"]
    # newest first: the search indexing the import queued once its prompts were committed
    assert [j["id"] for j in listed] == [job["result"]["search_job_id"], job["id"]]


def test_cancelled_job_never_runs(client, accounts, tmp_path):
    from backend.core.db import session_scope
    from backend.jobs.models import Job
    from workers.runner import run_job

    owner = accounts.user()
    pid = accounts.project(owner)
    with session_scope() as s:
        job = Job(project_id=pid, kind="prompt_import", params={})
        s.add(job)
        s.flush()
        jid = job.id
    r = client.post(f"/api/projects/{pid}/jobs/{jid}/cancel", headers=owner["headers"])
    assert r.status_code == 202 and r.json()["status"] == "cancelled"
    calls = []
    assert run_job(jid, "t", lambda ctx: calls.append(1) or {}) is None
    assert calls == []
    again = client.post(f"/api/projects/{pid}/jobs/{jid}/cancel", headers=owner["headers"])
    assert again.status_code == 409 and again.json()["error"]["code"] == "job_finished"
    assert again.json()["error"]["message"].endswith("already cancelled")


@pytest.mark.slow  # the CLI in processes of its own
def test_cli_users_create_checks_what_the_api_checks(client):
    """One validation for both: an address login would refuse, or a short password, is a usage error."""
    for email, password, says in [
        ("not-an-email", "long-enough-password", "EMAIL"),
        ("admin@printer.local", "long-enough-password", "EMAIL"),  # a special-use domain
        ("fine@example.com", "x", "--password"),
    ]:
        done = _cli("users", "create", email, "--password", password)
        assert done.returncode == 2, (email, done.stdout, done.stderr)
        assert says in done.stderr and "Traceback" not in done.stderr, done.stderr
    done = _cli("users", "create", "cli-made@example.com", "--password", "long-enough-password")
    assert done.returncode == 0, done.stderr
    r = client.post(
        "/api/auth/login", json={"email": "cli-made@example.com", "password": "long-enough-password"}
    )
    assert r.status_code == 200, r.text
    # the same address again (in another case): a usage error naming it, not a traceback
    again = _cli("users", "create", "CLI-Made@example.com", "--password", "another-long-password")
    assert again.returncode == 2, (again.stdout, again.stderr)
    assert "already exists" in again.stderr and "EMAIL" in again.stderr, again.stderr
    assert "Traceback" not in again.stderr + again.stdout, again.stderr


@pytest.mark.slow  # the CLI in processes of its own
def test_cli_import_bad_options_are_usage_errors(tmp_path):
    path = write_jsonl(tmp_path / "p.jsonl", [{"prompt": "x"}])
    for args, says in [
        (("--mapping", "{not json"), "--mapping"),
        (("--mapping", '{"prompt": 3}'), "--mapping"),
        (("--eval-ratio", "2"), "--eval-ratio"),
    ]:
        done = _cli("prompts", "import", str(path), "--project", "1", "--name", "x", *args)
        assert done.returncode == 2, (args, done.stderr)
        assert says in done.stderr and "Traceback" not in done.stderr, done.stderr


@pytest.mark.slow  # the CLI in processes of its own
def test_cli_index_search_queues_the_sets_not_indexed(client, accounts, tmp_path):
    from backend.core.db import session_scope
    from backend.jobs.models import Job
    from tests.support.prompts import seed_prompt_set

    owner = accounts.user()
    pid = accounts.project(owner)
    # in-process, as a set imported before migration 0015: nothing queued its indexing
    pset = seed_prompt_set(pid, write_jsonl(tmp_path / "p.jsonl", [{"prompt": "What is 2+2?"}]))
    done = _cli("prompts", "index-search")
    assert done.returncode == 0, done.stderr
    assert "queued search indexing of" in done.stderr, done.stderr
    with session_scope() as s:
        jobs = [(j.kind, j.params) for j in s.query(Job).filter(Job.project_id == pid)]
    assert jobs == [("prompt_search_index", {"prompt_set_id": pset})]
