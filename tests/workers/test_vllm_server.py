"""workers.teachers.vllm_server against a real vLLM (the CPU build in .venv-vllm, which `make test`
sets up) serving the project's tiny model. vLLM takes ~25 s to start on a small CPU box, so the
module starts two servers in all: one that serves, and one that cannot load its model."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.env import DATA_DIR
from tests.support.models import tiny_model
from tests.support.vllm import vllm_processes
from workers.teachers.vllm_server import (
    VLLMServer,
    VLLMServerSpec,
    VLLMStartError,
    acquire,
    current,
    release_all,
    vllm_python,
)

ROOT = Path(__file__).resolve().parents[2]


def test_argv_spells_every_flag_as_vllm_does(monkeypatch):
    from workers.teachers import vllm_server

    monkeypatch.setattr(vllm_server, "_has_gpu", lambda: True)  # vLLM's 0.9 (a CPU host's: its own test)
    spec = VLLMServerSpec(
        "Qwen/Qwen3-8B",
        tensor_parallel_size=2,
        reasoning_parser="qwen3",
        max_model_len=8192,
        extra_args=("--max-num-seqs", "256"),
    )
    assert spec.argv("/py", "127.0.0.1", 8000) == [
        "/py", "-m", "vllm.entrypoints.openai.api_server",
        "--model", "Qwen/Qwen3-8B",
        "--served-model-name", "Qwen/Qwen3-8B",
        "--host", "127.0.0.1",
        "--port", "8000",
        "--tensor-parallel-size", "2",
        "--max-model-len", "8192",
        "--gpu-memory-utilization", "0.9",
        "--enable-prefix-caching",
        "--reasoning-parser", "qwen3",
        "--dtype", "auto",
        "--max-num-seqs", "256",
    ]  # fmt: skip
    lean = VLLMServerSpec("m", served_model_name="t", enable_prefix_caching=False, enforce_eager=True)
    argv = lean.argv("/py", "127.0.0.1", 1)
    assert "--no-enable-prefix-caching" in argv and "--enforce-eager" in argv
    assert "--max-model-len" not in argv and "--reasoning-parser" not in argv
    assert argv[argv.index("--served-model-name") + 1] == "t" and lean.served_name == "t"


def test_spec_from_teacher_settings():
    spec = VLLMServerSpec.from_settings(
        "m",
        {
            "tensor_parallel_size": 2,
            "gpu_memory_utilization": 1,
            "extra_args": ["--seed", "1"],
            "device": "x",
        },
    )
    assert spec == VLLMServerSpec(
        "m", tensor_parallel_size=2, gpu_memory_utilization=1.0, extra_args=("--seed", "1")
    )
    assert VLLMServerSpec.from_settings("m", {"max_model_len": None}) == VLLMServerSpec("m")
    for bad, key in (
        ({"tensor_parallel_size": "2"}, "tensor_parallel_size"),
        ({"enforce_eager": 1}, "enforce_eager"),
        ({"max_model_len": True}, "max_model_len"),
        ({"reasoning_parser": 3}, "reasoning_parser"),
        ({"extra_args": "--seed 1"}, "extra_args"),
        ({"extra_args": ["--trust-remote-code"]}, "--trust-remote-code"),
        ({"gpu_memory_utilization": 1.5}, "gpu_memory_utilization"),
        ({"tensor_parallel_size": 0}, "tensor_parallel_size"),
    ):
        with pytest.raises(ValueError, match=key):
            VLLMServerSpec.from_settings("m", bad)


@pytest.fixture(scope="module")
def python() -> str:
    python = vllm_python()
    found = Path(python).exists() and (
        subprocess.run(
            [python, "-c", "import importlib.util, sys; sys.exit(importlib.util.find_spec('vllm') is None)"],
            capture_output=True,
        ).returncode
        == 0
    )
    if not found:
        pytest.skip(
            f"no vLLM in {python}: run scripts/setup-vllm.sh (make vllm) or set DISTILLERY_VLLM_PYTHON"
        )
    return python


@pytest.fixture(scope="module")
def tiny_spec(python) -> VLLMServerSpec:
    model = tiny_model()
    return VLLMServerSpec(
        str(model),
        served_model_name="tiny",
        dtype="float32",
        max_model_len=256,
        enforce_eager=True,
        gpu_memory_utilization=0.1,  # on CPU, a share of RAM
    )


@pytest.fixture(scope="module")
def server(tiny_spec):
    try:
        yield acquire(tiny_spec)
    finally:
        release_all()


def _live_group(pgid: int) -> list[int]:
    """Processes of the group that are not zombies (the reaper may lag behind)."""
    members = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            rest = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if rest[0] not in "ZX" and int(rest[2]) == pgid:
            members.append(int(entry))
    return members


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_serves_chat_completions_and_is_kept_warm(server, tiny_spec):
    assert server.alive() and server.startup_s is not None
    assert server.base_url == f"http://127.0.0.1:{server.port}/v1" and server.served_name == "tiny"
    assert 20000 <= server.port <= 32000
    assert len(_live_group(server.proc.pid)) >= 2  # the API server and its engine core, at least
    # An equal spec gets the same warm server, not a second start.
    assert acquire(VLLMServerSpec(**vars(tiny_spec))) is server and current() is server

    r = httpx.post(
        f"{server.base_url}/chat/completions",
        json={
            "model": "tiny",
            "messages": [{"role": "user", "content": "how many apples are left"}],
            "n": 3,
            "max_tokens": 16,
            "temperature": 1.0,
        },
        timeout=120,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    choices = body["choices"]
    assert len(choices) == 3
    assert all(isinstance(c["message"]["content"], str) and c["message"]["content"] for c in choices)
    assert any(c["finish_reason"] == "length" for c in choices)
    assert body["usage"]["completion_tokens"] > 0 and body["usage"]["prompt_tokens"] > 0
    assert server.log_path is not None and server.log_path.stat().st_size > 0

    # An auto rollout.max_tokens sends the whole context length (max_model_len 256 here): vLLM caps the
    # answer at what the prompt leaves of it instead of refusing the request.
    r = httpx.post(
        f"{server.base_url}/chat/completions",
        json={"model": "tiny", "messages": [{"role": "user", "content": "count on"}], "max_tokens": 256},
        timeout=120,
    )
    assert r.status_code == 200, r.text
    usage = r.json()["usage"]
    assert usage["prompt_tokens"] + usage["completion_tokens"] <= 256


def test_a_server_that_cannot_start_says_why_and_acquire_stops_the_old_one(server, tmp_path):
    pgid, port = server.proc.pid, server.port
    missing = tmp_path / "no-such-model"
    with pytest.raises(VLLMStartError) as err:
        acquire(VLLMServerSpec(str(missing), dtype="float32", enforce_eager=True), timeout_s=180)
    message = str(err.value)
    # The server's own words, from its log: its error line, naming the model it could not find.
    assert "exited with code" in message and "no-such-model" in message and "Error: " in message
    assert "Traceback" not in message and len(message.splitlines()) == 1
    assert current() is None and not vllm_processes(str(missing))

    # Acquiring another spec stopped the running server: all of its process group, and its port.
    assert not server.alive() and server.proc.returncode is not None
    assert _live_group(pgid) == [] and not _port_open(port)
    server.stop()  # idempotent
    release_all()


def test_stop_before_start_and_context_manager_without_starting():
    s = VLLMServer(VLLMServerSpec("m"), python=sys.executable)
    s.stop()
    assert not s.alive() and s.tail() == "(no log)"


# A server that dies while it serves, through the launcher for real: the fake's interpreter stands in for
# vLLM's (tests/fakes/fake_vllm.py), answers two requests, then logs an engine crash and exits with 1.
CRASHING = {
    "served_model_name": "fake",
    "extra_args": ["--crash-after-requests", "2", "--startup-lines", "60"],
}
# The fake's own flags are not vLLM's: allowed the way an administrator allows a flag.
FAKE_FLAGS = "--crash-after-requests,--startup-lines"


@pytest.fixture
def fake_flags_allowed(monkeypatch):
    from backend.core.config import get_settings

    monkeypatch.setattr(get_settings(), "vllm_extra_args_allowed", FAKE_FLAGS)


def _check_crash_report(message: str) -> None:
    from tests.fakes.fake_vllm import SECRET

    head, _, tail = message.partition("\n")
    assert "exited with code 1 while serving requests" in head and "'fake'" in head, head
    assert "RuntimeError: CUDA error: an illegal memory access was encountered" in tail
    assert "AsyncLLM output_handler failed." in tail  # the log's last line
    assert "pad_token: 1" in tail and "HF_TOKEN=[REDACTED]" in tail and SECRET not in message
    assert len(tail.splitlines()) <= 20 and len(tail) <= 2000
    assert "startup line 0" not in tail  # only the end of the log


def test_a_server_that_dies_while_serving_fails_with_its_exit_code_and_log_tail(
    tmp_path, monkeypatch, fake_flags_allowed
):
    import asyncio
    import time

    from tests.fakes.fake_vllm import write_python
    from workers.teachers import vllm_server
    from workers.teachers.base import Request, Sampling
    from workers.teachers.factory import TeacherSpec, make_teacher
    from workers.teachers.vllm_server import VLLMServerDied

    monkeypatch.setattr(vllm_server, "vllm_python", lambda: str(write_python(tmp_path)))
    backend = make_teacher(
        TeacherSpec("vllm", "fake-r1", None, None, CRASHING), Sampling(max_tokens=64), concurrency=2
    )
    answered = []

    async def go() -> None:
        try:
            requests = [Request(i, [{"role": "user", "content": f"question {i}"}]) for i in range(6)]
            async for req, completions in backend.generate(requests):
                answered.append((req.key, [c.ok for c in completions]))
        finally:
            await backend.aclose()

    started = time.monotonic()
    with pytest.raises(VLLMServerDied) as err:
        asyncio.run(go())
    elapsed = time.monotonic() - started
    server = current()
    try:
        assert sorted(answered) == [(0, [True]), (1, [True])]
        assert err.value.returncode == 1
        _check_crash_report(str(err.value))
        # Ended when the process did, not after the client's retries against the dead port (5 retries
        # from 0.5 s doubling, jitter at least x0.5: 7.75 s at the very least).
        assert elapsed < 6, elapsed
        # Nothing of it is left: the group is stopped and its record under DATA_DIR/vllm removed.
        assert not server.alive() and _live_group(server.proc.pid) == []
        assert not list((DATA_DIR / "vllm").glob(f"server-*-{server.proc.pid}.json"))
    finally:
        release_all()


def test_the_rollout_stage_error_says_why_the_server_died(
    client, accounts, celery_worker, tmp_path, fake_flags_allowed
):
    from tests.fakes.fake_vllm import write_python
    from tests.support.rollouts import run_rollout

    celery_worker.stop()
    celery_worker.start(
        DISTILLERY_VLLM_PYTHON=str(write_python(tmp_path)), DISTILLERY_VLLM_EXTRA_ARGS_ALLOWED=FAKE_FLAGS
    )
    try:
        teacher = {"backend": "vllm", "model": "fake-r1", "settings": CRASHING}
        run, gens, _ = run_rollout(client, accounts, tmp_path, teacher, 6, n=1, max_tokens=32)
    finally:
        celery_worker.stop()
        celery_worker.start()
    assert run["status"] == "failed", run
    stage = run["stages"][0]
    assert stage["status"] == "failed" and stage["error"].startswith("chunk 0: VLLMServerDied: vLLM serving")
    _check_crash_report(stage["error"].split(": ", 2)[2])


def test_the_probe_reads_the_context_length_of_a_server_it_started(tmp_path, monkeypatch):
    """vLLM lists max_model_len in /v1/models; the probe stores it for an auto rollout.max_tokens."""
    import asyncio

    from tests.fakes.fake_vllm import write_python
    from workers.jobs.teacher_probe import REQUESTS, _send
    from workers.teachers import vllm_server
    from workers.teachers.factory import TeacherSpec

    monkeypatch.setattr(vllm_server, "vllm_python", lambda: str(write_python(tmp_path)))
    spec = TeacherSpec("vllm", "fake-r1", None, None, {"served_model_name": "fake", "max_model_len": 2048})
    completions, startup, context = asyncio.run(_send(spec, timeout_s=30))
    assert len(completions) == REQUESTS and all(c.ok for c in completions)
    assert startup is not None and startup > 0 and context == 2048
    assert current() is None  # the probe gave the server back
