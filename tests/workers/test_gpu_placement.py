"""Which GPUs a worker owns and how the vLLM server it starts is placed on them (workers/teachers/gpus.py),
and the server records that let two workers on one host, or hosts sharing the data directory, each
reap only their own dead servers (workers/teachers/vllm_records.reap_orphans). No GPU needed: the
placement is pure, and the records are tested with stand-in process groups."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from backend.core.config import get_settings
from backend.core.errors import Invalid
from backend.core.processes import pid_alive, spawn, stop_group
from workers.teachers import gpus, vllm_server
from workers.teachers.gpus import check_teacher_fits, gpus_needed, placement, worker_gpus
from workers.teachers.vllm_records import ENTRYPOINT, host_identity, reap_orphans, start_ticks
from workers.teachers.vllm_server import VLLMServer, VLLMServerSpec

pytestmark = pytest.mark.pure  # no database, broker or worker


@pytest.fixture
def owns(monkeypatch):
    """Set DISTILLERY_WORKER_GPUS for the test (None: unset)."""

    def set_(value: str | None) -> None:
        monkeypatch.setattr(get_settings(), "worker_gpus", value)

    return set_


def test_the_worker_owns_what_it_is_given(owns):
    owns(None)
    assert worker_gpus({}, host_gpus=0) is None  # a CPU host: nothing to place, nothing to check
    assert worker_gpus({"CUDA_VISIBLE_DEVICES": "0"}, host_gpus=0) is None
    assert worker_gpus({}, host_gpus=4) == ("0", "1", "2", "3")  # all of the host's
    assert worker_gpus({"CUDA_VISIBLE_DEVICES": "2,3"}, host_gpus=4) == ("2", "3")
    assert worker_gpus({"CUDA_VISIBLE_DEVICES": " GPU-8a1c , 1"}, host_gpus=4) == ("GPU-8a1c", "1")
    assert worker_gpus({"CUDA_VISIBLE_DEVICES": ""}, host_gpus=4) == ()
    assert worker_gpus({"CUDA_VISIBLE_DEVICES": "1,-1,2"}, host_gpus=4) == ("1",)  # CUDA stops at -1
    owns("5,6")  # the setting wins over the environment, and counts on any host (tests, odd drivers)
    assert worker_gpus({"CUDA_VISIBLE_DEVICES": "0"}, host_gpus=8) == ("5", "6")
    assert worker_gpus({}, host_gpus=0) == ("5", "6")


def test_the_setting_refuses_what_is_not_a_gpu_name():
    from backend.core.config import Settings

    assert Settings(worker_gpus=" 0, 1 ").worker_gpus == "0,1"
    assert Settings(worker_gpus="").worker_gpus is None
    for bad in ("0;rm", "0,,1", "0 1"):
        with pytest.raises(ValueError, match="DISTILLERY_WORKER_GPUS"):
            Settings(worker_gpus=bad)


def test_gpus_needed_multiplies_tensor_pipeline_and_data_parallel_sizes():
    assert gpus_needed(1) == 1 and gpus_needed(4) == 4
    assert gpus_needed(2, ["--pipeline-parallel-size", "2"]) == 4
    assert gpus_needed(2, ["--data-parallel-size=3", "--max-num-seqs", "8"]) == 6
    assert gpus_needed(1, ["-dp", "2", "-pp", "2"]) == 4
    with pytest.raises(Invalid, match="--data-parallel-size needs a whole number"):
        gpus_needed(1, ["--data-parallel-size", "many"])


def test_the_server_gets_exactly_the_workers_gpus_and_a_teacher_that_fits():
    assert placement(1, (), None, what="x") == {}  # CPU host: the environment as the worker has it
    assert placement(1, (), ("3",), what="x") == {"CUDA_VISIBLE_DEVICES": "3"}
    assert placement(2, (), ("2", "3"), what="x") == {"CUDA_VISIBLE_DEVICES": "2,3"}
    assert placement(2, ["-pp", "2"], ("0", "1", "2", "3"), what="x") == {"CUDA_VISIBLE_DEVICES": "0,1,2,3"}
    with pytest.raises(Invalid) as err:
        placement(4, (), ("0", "1"), what="teacher 'big'")
    assert str(err.value) == (
        "teacher 'big' needs 4 GPUs (tensor_parallel_size 4) but this worker owns 2 (0,1): start the "
        "worker with more GPUs (DISTILLERY_WORKER_GPUS or CUDA_VISIBLE_DEVICES) or lower tensor_parallel_size"
    )
    assert err.value.code == "teacher_needs_more_gpus"
    assert err.value.fields == [{"path": "settings.tensor_parallel_size", "message": str(err.value)}]
    with pytest.raises(Invalid, match=r"needs 4 GPUs \(tensor_parallel_size 2 x data_parallel_size 2\)"):
        placement(2, ["--data-parallel-size", "2"], ("0", "1"), what="t")
    with pytest.raises(Invalid, match=r"needs 1 GPUs \(one GPU\) but this worker owns none"):
        placement(1, (), (), what="t")


def test_the_chunk_claim_refuses_a_teacher_too_big_for_the_worker(owns, monkeypatch):
    owns("0,1")
    check_teacher_fits("vllm", None, {"tensor_parallel_size": 2}, "teacher 't'")
    with pytest.raises(Invalid, match="teacher 't' needs 4 GPUs"):
        check_teacher_fits("vllm", None, {"tensor_parallel_size": 4}, "teacher 't'")
    # what the worker does not start is not placed: a running server, an API, transformers
    check_teacher_fits("vllm", "http://vllm:8000/v1", {"tensor_parallel_size": 8}, "t")
    check_teacher_fits("openai_compat", None, {"tensor_parallel_size": 8}, "t")
    # a malformed size is the server spec's to name (make_teacher refuses it with the setting's name)
    check_teacher_fits("vllm", None, {"tensor_parallel_size": "8"}, "t")
    owns(None)
    monkeypatch.setattr(gpus, "host_gpu_count", lambda: 0)  # a CPU host: vLLM's CPU build, no check
    check_teacher_fits("vllm", None, {"tensor_parallel_size": 64}, "t")
    monkeypatch.setattr(gpus, "host_gpu_count", lambda: 2)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    with pytest.raises(Invalid, match=r"owns 2 \(0,1\)"):
        check_teacher_fits("vllm", None, {"tensor_parallel_size": 4}, "t")


def test_start_refuses_before_anything_runs_and_passes_the_gpus_on(owns, monkeypatch, tmp_path):
    seen: list[dict] = []

    def fake_spawn(argv, *, env, cwd, log_path):
        seen.append({"argv": argv, "env": env})
        # exits at once: wait_healthy fails, start raises VLLMStartError, nothing is left behind
        return subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"], start_new_session=True)

    monkeypatch.setattr(vllm_server, "spawn", fake_spawn)
    owns("1")
    with pytest.raises(Invalid, match="needs 2 GPUs"):
        VLLMServer(VLLMServerSpec("m", tensor_parallel_size=2), python="/py").start(timeout_s=20)
    assert seen == []  # refused before a process or a record
    owns("6,7")
    with pytest.raises(vllm_server.VLLMStartError):
        VLLMServer(VLLMServerSpec("m", tensor_parallel_size=2), python="/py").start(timeout_s=20)
    (call,) = seen
    assert call["env"]["CUDA_VISIBLE_DEVICES"] == "6,7"
    assert call["argv"][call["argv"].index("--tensor-parallel-size") + 1] == "2"


def _group(*argv: str) -> subprocess.Popen:
    """A stand-in server: a process group whose leader's command line names argv."""
    return spawn([sys.executable, "-c", "import time; time.sleep(120)", *argv])


def _record(folder, proc_pid: int, owner: int, host: str, **extra) -> None:
    body = {"pgid": proc_pid, "owner": owner, "host": host, "port": 1, "model": "m", **extra}
    (folder / f"server-{host}-{proc_pid}.json").write_text(json.dumps(body))


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_reaping_stops_only_this_hosts_orphans(tmp_path):
    host, dead = host_identity(), _dead_pid()
    orphan, others, live_owned, reused = (_group(ENTRYPOINT) for _ in range(4))
    try:
        # an orphan: its owner is dead, the record saw this very leader start -> stopped
        _record(tmp_path, orphan.pid, dead, host, started=start_ticks(orphan.pid))
        # another worker's server on this host: its owner is alive (this process here) -> left alone
        _record(tmp_path, live_owned.pid, os.getpid(), host, started=start_ticks(live_owned.pid))
        # another container sharing the data dir: its pids mean other processes -> never read
        other = "otherhost-00000000-4026531836"
        _record(tmp_path, others.pid, dead, other)
        # the dead owner's server is long gone and its pid now leads another worker's server
        _record(tmp_path, reused.pid, dead, host, started=start_ticks(reused.pid) - 1)
        reap_orphans(tmp_path)
        orphan.wait(timeout=30)
        assert not pid_alive(orphan.pid)
        assert pid_alive(live_owned.pid) and pid_alive(others.pid) and pid_alive(reused.pid)
        left = sorted(p.name for p in tmp_path.iterdir())
        assert left == sorted([f"server-{host}-{live_owned.pid}.json", f"server-{other}-{others.pid}.json"])
    finally:
        for p in (orphan, others, live_owned, reused):
            stop_group(p.pid, p, grace_s=5)


def test_two_servers_on_one_host_keep_apart_records_and_logs(owns, monkeypatch, tmp_path):
    """Two workers' servers never share a record file or a log; a record names its GPUs."""
    owns("0")
    procs: list[subprocess.Popen] = []

    def fake_spawn(argv, *, env, cwd, log_path):
        procs.append(_group(ENTRYPOINT))
        return procs[-1]

    monkeypatch.setattr(vllm_server, "spawn", fake_spawn)
    monkeypatch.setattr(vllm_server, "wait_healthy", lambda *a, **k: None)
    a, b = (VLLMServer(VLLMServerSpec("m"), python="/py") for _ in range(2))
    try:
        a.start(), b.start()
        assert a.port != b.port and a.log_path != b.log_path
        assert a._record != b._record and a._record.exists() and b._record.exists()
        record = json.loads(a._record.read_text())
        assert (
            record["host"] == host_identity() and record["gpus"] == ["0"] and record["owner"] == os.getpid()
        )
        reap_orphans(a._record.parent)  # their owner lives: both stay
        assert a.alive() and b.alive()
    finally:
        a.stop(grace_s=5), b.stop(grace_s=5)
    assert not a._record and not b._record and not a.alive() and not b.alive()


def test_gpu_seconds_count_every_gpu_the_server_uses(monkeypatch):
    """A tensor-parallel teacher's hour on 4 GPUs is 4 GPU-hours at its gpu_hour price."""
    import asyncio
    import itertools
    from types import SimpleNamespace

    from workers.teachers import factory
    from workers.teachers.factory import HeldDevice

    class Answers:
        name = "stand-in"

        async def generate(self, requests):
            for r in requests:
                yield r, []

    clock = itertools.count()  # each reading one second later: generate() spans exactly one second
    monkeypatch.setattr(factory, "time", SimpleNamespace(monotonic=lambda: float(next(clock))))

    async def drain(held: HeldDevice) -> float:
        _ = [item async for item in held.generate(["q"])]
        return held.gpu_seconds

    assert asyncio.run(drain(HeldDevice(Answers()))) == 1.0
    assert asyncio.run(drain(HeldDevice(Answers(), devices=4))) == 4.0
