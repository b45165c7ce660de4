"""The teacher speed probe (POST .../teachers/{id}/probe) through the real worker: a few short real
requests measure tokens/s and latency, stored on the teacher; the rollout estimate then says its time
comes from the probe. Failures (a wrong key, nothing listening) are stored scrubbed and fail the job."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import httpx
import pytest

from backend.core.net import free_port
from backend.rollouts.estimate import DEFAULT_TOKENS_PER_S, VLLM_STARTUP_S
from tests.fakes.fake_openai_server import start_fake_server, stop_fake_server
from tests.support.env import DATA_DIR, run_cli
from tests.support.models import tiny_model
from tests.support.prompts import PROJECT_PROMPTS
from tests.support.teachers import make_teacher, post_estimate
from tests.support.waiting import wait_job
from workers.jobs.teacher_probe import MAX_TOKENS, REQUESTS, measure
from workers.teachers.base import Completion

LATENCY_S = 0.2
RIGHT_KEY = "sk-right-key-0123456789"
WRONG_KEY = "sk-wrong-key-9876543210"


@pytest.fixture(scope="module")
def fake_url():
    port = free_port()
    proc = start_fake_server(
        port, "--latency-s", str(LATENCY_S), "--answer-bytes", "300", "--max-model-len", "32768",
        log_path=DATA_DIR / "fake-probe.log",
    )  # fmt: skip
    yield f"http://127.0.0.1:{port}"
    stop_fake_server(proc)


@pytest.fixture(scope="module")
def keyed_url():
    port = free_port()
    proc = start_fake_server(port, "--api-key", RIGHT_KEY, log_path=DATA_DIR / "fake-probe-key.log")
    yield f"http://127.0.0.1:{port}"
    stop_fake_server(proc)


def _probe(client, h, pid, tid) -> dict:
    r = client.post(f"/api/projects/{pid}/teachers/{tid}/probe", headers=h)
    assert r.status_code == 202, r.text
    assert r.json()["kind"] == "teacher_probe" and r.json()["status"] == "queued"
    return wait_job(client, h, pid, r.json()["id"])


def _requests_seen(base: str) -> int:
    return httpx.get(f"{base}/stats", trust_env=False).json()["requests"]


def test_the_probe_measures_the_teacher_and_the_estimate_uses_it(client, project, fake_url, celery_worker):
    h, pid, pset = project
    tid = make_teacher(
        client, h, pid, backend="openai_compat", model="fake-teacher", base_url=f"{fake_url}/v1"
    )
    before = _requests_seen(fake_url)
    job = _probe(client, h, pid, tid)
    assert job["status"] == "succeeded", job["error"]
    assert job["progress_done"] == job["progress_total"] == REQUESTS
    assert _requests_seen(fake_url) - before == REQUESTS  # really sent, all of them
    probe = client.get(f"/api/projects/{pid}/teachers/{tid}", headers=h).json()["probe"]
    assert probe["requests"] == probe["succeeded"] == REQUESTS and probe["error"] is None
    assert probe["job_id"] == job["id"] and probe["max_tokens"] == MAX_TOKENS
    assert probe["startup_s"] is None  # an endpoint: nothing to start
    assert probe["context_length"] == 32768  # the fake lists max_model_len in /v1/models, as vLLM does
    per_request = probe["completion_tokens"] / REQUESTS
    # The fake sleeps LATENCY_S before every answer, so no request is faster than that; on this
    # machine none takes 5 s either.
    assert LATENCY_S * 1000 <= probe["latency_ms"] < 5000
    assert per_request / 5 < probe["tokens_per_s"] <= per_request / LATENCY_S
    assert probe["tokens_per_s"] == pytest.approx(per_request / (probe["latency_ms"] / 1000), rel=0.01)
    measured = datetime.fromisoformat(probe["measured_at"])
    assert abs((datetime.now(UTC) - measured).total_seconds()) < 120

    est = post_estimate(client, h, pid, pset, tid, n=4, max_tokens=100, concurrency=8)
    assert est["seconds_source"] == "probe" and est["startup_s"] == 0
    waves = math.ceil(PROJECT_PROMPTS * 4 / 8)
    assert est["seconds"] == pytest.approx(waves * 100 / probe["tokens_per_s"], abs=0.1)
    assert any(
        "measured by the probe at" in b and f"{probe['tokens_per_s']:.1f} tokens/s per request" in b
        for b in est["basis"]
    ), est["basis"]

    # An auto max_tokens uses the context length the probe read.
    auto = post_estimate(client, h, pid, pset, tid, n=1)
    assert (auto["max_tokens"], auto["max_tokens_source"]) == (32768, "auto: teacher context length 32768")

    # Probed again: it calls again (no response cache in between) and replaces the figures.
    again = _probe(client, h, pid, tid)
    assert again["status"] == "succeeded", again["error"]
    assert _requests_seen(fake_url) - before == 2 * REQUESTS
    assert (
        client.get(f"/api/projects/{pid}/teachers/{tid}", headers=h).json()["probe"]["job_id"] == again["id"]
    )

    # A change of what was measured (here the model) drops the probe: the estimate falls back.
    r = client.patch(f"/api/projects/{pid}/teachers/{tid}", headers=h, json={"model": "another"})
    assert r.status_code == 200 and r.json()["probe"] is None
    assert post_estimate(client, h, pid, pset, tid, n=1, max_tokens=100)["seconds_source"] == "default"


def test_a_wrong_key_fails_the_probe_clearly_and_nothing_secret_is_stored(
    client, project, keyed_url, celery_worker
):
    h, pid, pset = project
    tid = make_teacher(
        client, h, pid, backend="openai_compat", model="m", base_url=f"{keyed_url}/v1", api_key=WRONG_KEY
    )
    job = _probe(client, h, pid, tid)
    assert job["status"] == "failed"
    assert job["error"]["code"] == "probe_failed"
    assert "got no answer" in job["error"]["message"] and "http 401" in job["error"]["message"]
    teacher = client.get(f"/api/projects/{pid}/teachers/{tid}", headers=h).json()
    probe = teacher["probe"]
    assert probe["succeeded"] == 0 and probe["tokens_per_s"] is None and "http 401" in probe["error"]
    # The fake echoes the key it was sent back in its 401 body, as some providers do.
    assert "[REDACTED]" in probe["error"]
    assert WRONG_KEY not in str(job) and WRONG_KEY not in str(teacher)
    from backend.core.db import session_scope
    from backend.jobs.models import Job
    from backend.teachers.models import Teacher

    with session_scope() as s:
        stored = str(s.get(Teacher, tid).probe) + str(s.get(Job, job["id"]).error)
        stored += str(s.get(Job, job["id"]).result)
    assert WRONG_KEY not in stored
    # A failed probe measured nothing: the estimate keeps to the assumed default, and says so.
    est = post_estimate(client, h, pid, pset, tid, n=1, max_tokens=50)
    assert est["seconds_source"] == "default"
    assert est["seconds"] == pytest.approx(50 / DEFAULT_TOKENS_PER_S["openai_compat"], abs=0.1)
    assert any("assumed, not measured" in b and "run the probe" in b for b in est["basis"])


def test_an_unreachable_teacher_fails_the_probe(client, project, celery_worker):
    h, pid, _ = project
    tid = make_teacher(
        client, h, pid, backend="openai_compat", model="m", base_url=f"http://127.0.0.1:{free_port()}/v1"
    )
    job = _probe(client, h, pid, tid)
    assert job["status"] == "failed" and job["error"]["code"] == "probe_failed"
    assert "connection" in job["error"]["message"]
    probe = client.get(f"/api/projects/{pid}/teachers/{tid}", headers=h).json()["probe"]
    assert probe["requests"] == REQUESTS and probe["succeeded"] == 0 and "connection" in probe["error"]


def test_only_maintainers_probe(client, accounts, monkeypatch):
    from backend.core import queue

    sent: list[tuple[str, str]] = []
    monkeypatch.setattr(queue, "send", lambda task, *a, **kw: sent.append((task, kw["queue"])) or "task-id")
    owner, maintainer, viewer, stranger = (accounts.user() for _ in range(4))
    pid = accounts.project(owner, maintainer=maintainer, viewer=viewer)
    other = accounts.project(stranger)
    h = owner["headers"]
    tid = make_teacher(client, h, pid, backend="openai_compat", model="m", base_url="http://10.0.0.9/v1")
    url = f"/api/projects/{pid}/teachers/{tid}/probe"
    r = client.post(url, headers=viewer["headers"])
    assert r.status_code == 403, r.text
    assert client.post(url, headers=stranger["headers"]).status_code == 404
    # A teacher of another project is not found through this one.
    their = make_teacher(client, stranger["headers"], other, backend="openai_compat", model="m",
                     base_url="http://10.0.0.9/v1")  # fmt: skip
    assert client.post(f"/api/projects/{pid}/teachers/{their}/probe", headers=h).status_code == 404
    assert client.post(f"/api/projects/{pid}/teachers/99999999/probe", headers=h).status_code == 404
    assert sent == []
    r = client.post(url, headers=maintainer["headers"])
    assert r.status_code == 202 and r.json()["kind"] == "teacher_probe"
    assert sent == [("distillery.teachers.probe", "cpu")]  # an endpoint: any worker
    local = make_teacher(client, h, pid, name="local", backend="vllm", model="Qwen/Qwen2.5-0.5B-Instruct")
    assert client.post(f"/api/projects/{pid}/teachers/{local}/probe", headers=h).status_code == 202
    assert sent[-1] == ("distillery.teachers.probe", "gpu")  # the worker starts vLLM: a gpu worker


def test_a_local_transformers_teacher_is_probed_on_the_worker(client, project, celery_worker):
    h, pid, pset = project
    model = str(tiny_model())
    tid = make_teacher(client, h, pid, backend="transformers_local", model=model, settings={"device": "cpu"})
    job = _probe(client, h, pid, tid)
    assert job["status"] == "succeeded", job["error"]
    probe = client.get(f"/api/projects/{pid}/teachers/{tid}", headers=h).json()["probe"]
    assert probe["succeeded"] == REQUESTS and probe["startup_s"] is None
    assert 0 < probe["completion_tokens"] <= REQUESTS * MAX_TOKENS
    assert probe["tokens_per_s"] > 0 and probe["latency_ms"] > 0
    est = post_estimate(client, h, pid, pset, tid, n=1, max_tokens=64, concurrency=16)
    assert est["seconds_source"] == "probe"
    assert est["seconds"] == pytest.approx(64 / probe["tokens_per_s"], abs=0.1)


def test_a_vllm_teacher_with_a_base_url_is_probed_as_an_endpoint(client, project, fake_url, celery_worker):
    h, pid, pset = project
    tid = make_teacher(client, h, pid, backend="vllm", model="fake-teacher", base_url=f"{fake_url}/v1")
    job = _probe(client, h, pid, tid)
    assert job["status"] == "succeeded", job["error"]
    probe = client.get(f"/api/projects/{pid}/teachers/{tid}", headers=h).json()["probe"]
    assert probe["succeeded"] == REQUESTS and probe["startup_s"] is None and probe["tokens_per_s"] > 0
    est = post_estimate(client, h, pid, pset, tid, n=1, max_tokens=64)
    assert est["seconds_source"] == "probe" and est["startup_s"] == 0


def test_a_worker_started_vllm_uses_the_probes_start_up(client, project):
    """No vLLM is started here: the stored probe of a vllm teacher without base_url (as the job writes
    it) replaces the assumed start-up; one with base_url has none."""
    from backend.core.db import session_scope
    from backend.teachers.models import Teacher

    h, pid, pset = project
    started = make_teacher(client, h, pid, name="v", backend="vllm", model="Qwen/Qwen2.5-0.5B-Instruct")
    served = make_teacher(
        client,
        h,
        pid,
        name="s",
        backend="vllm",
        model="Qwen/Qwen2.5-0.5B-Instruct",
        base_url="http://10.0.0.9/v1",
    )
    assert post_estimate(client, h, pid, pset, started, n=1, max_tokens=60)["startup_s"] == VLLM_STARTUP_S
    probe = {
        "tokens_per_s": 12.5,
        "latency_ms": 5120.0,
        "startup_s": 73.4,
        "completion_tokens": 256,
        "requests": 4,
        "succeeded": 4,
        "max_tokens": 64,
        "measured_at": "2026-12-01T12:00:00Z",
    }
    with session_scope() as s:
        s.get(Teacher, started).probe = probe
        s.get(Teacher, served).probe = {**probe, "startup_s": None}
    est = post_estimate(client, h, pid, pset, started, n=1, max_tokens=60, concurrency=64)
    assert est["seconds_source"] == "probe" and est["startup_s"] == 73.4
    assert est["seconds"] == pytest.approx(73.4 + 60 / 12.5, abs=0.1)
    assert any("start vLLM (measured by the probe" in b for b in est["basis"]), est["basis"]
    assert any("probe at 2026-12-01 12:00 UTC: 12.5 tokens/s" in b for b in est["basis"]), est["basis"]
    est = post_estimate(client, h, pid, pset, served, n=1, max_tokens=60, concurrency=64)
    assert est["startup_s"] == 0 and est["seconds"] == pytest.approx(60 / 12.5, abs=0.1)


def test_measure_weighs_tokens_by_latency_and_skips_failures():
    out = measure(
        [
            Completion("a", completion_tokens=30, latency_ms=1000),
            Completion("b", completion_tokens=10, latency_ms=1000),
            Completion(None, error="http 500 after 2 tries"),
        ]
    )
    assert out == {
        "requests": 3,
        "succeeded": 2,
        "completion_tokens": 40,
        "latency_ms": 1000.0,
        "tokens_per_s": 20.0,
    }
    assert measure([Completion(None, error="timeout")])["tokens_per_s"] is None


def test_the_cli_probes_a_teacher_by_name_and_prints_the_figures(client, project, fake_url, keyed_url,
                                                                 celery_worker):  # fmt: skip
    h, pid, _ = project
    tid = make_teacher(
        client, h, pid, name="fast", backend="openai_compat", model="m", base_url=f"{fake_url}/v1"
    )
    out = run_cli("teachers", "probe", str(pid), "fast")
    assert out.returncode == 0, out.stdout + out.stderr
    probe = client.get(f"/api/projects/{pid}/teachers/{tid}", headers=h).json()["probe"]
    assert f"{probe['tokens_per_s']:.1f} tokens/s per request" in out.stdout + out.stderr
    locked = {"backend": "openai_compat", "model": "m", "base_url": f"{keyed_url}/v1", "api_key": WRONG_KEY}
    make_teacher(client, h, pid, name="locked", **locked)
    out = run_cli("teachers", "probe", str(pid), "locked")
    said = out.stdout + out.stderr
    assert out.returncode == 1 and "http 401" in said and WRONG_KEY not in said
    out = run_cli("teachers", "probe", str(pid), "nobody")
    assert out.returncode == 2 and "no teacher 'nobody'" in out.stdout + out.stderr
