"""backend.core.processes on real child processes: stopping a group for certain, and waiting for a
server that may die first."""

from __future__ import annotations

import signal
import sys
import textwrap
from pathlib import Path

import pytest

from backend.core.net import free_port
from backend.core.processes import (
    ProcessError,
    group_members,
    kill,
    pid_alive,
    spawn,
    stop,
    wait_healthy,
    wait_until,
)


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def _wait_for_line(proc, log: Path, prefix: str) -> str:
    """The first log line starting with prefix, once the child has written it."""

    def line() -> str | None:
        return next((x for x in log.read_text().splitlines() if x.startswith(prefix)), None)

    wait_until(lambda: line() is not None, proc, ready_as=f"logging {prefix!r}", timeout=30, log_path=log)
    return line()


def test_a_child_that_ignores_sigterm_is_killed(tmp_path):
    log = tmp_path / "stubborn.log"
    proc = spawn(
        _python("""
            import signal, time
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            print("ready", flush=True)
            time.sleep(120)
        """),
        log_path=log,
    )
    _wait_for_line(proc, log, "ready")
    assert stop(proc, grace_s=0.5, name="stubborn") is True
    assert proc.returncode == -signal.SIGKILL
    assert group_members(proc.pid) == []


def test_stopping_a_group_ends_its_grandchildren_too(tmp_path):
    """The leader dies of SIGTERM at once; a grandchild that ignores it and a great-grandchild it
    started must not outlive the stop."""
    log = tmp_path / "tree.log"
    proc = spawn(
        _python("""
            import subprocess, sys, time
            inner = "import subprocess, sys, time; p = subprocess.Popen([sys.executable, '-c', "
            inner += "'import time; time.sleep(120)']); print('great', p.pid, flush=True); "
            inner += "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"
            child = subprocess.Popen([sys.executable, "-c", inner])
            print("grand", child.pid, flush=True)
            time.sleep(120)
        """),
        log_path=log,
    )
    grand = int(_wait_for_line(proc, log, "grand").split()[1])
    great = int(_wait_for_line(proc, log, "great").split()[1])
    assert pid_alive(grand) and pid_alive(great)
    assert sorted(group_members(proc.pid)) == sorted([proc.pid, grand, great])

    assert stop(proc, grace_s=1) is True
    assert proc.returncode == -signal.SIGTERM
    assert not pid_alive(grand) and not pid_alive(great)
    assert group_members(proc.pid) == []
    assert stop(proc) is True  # idempotent


def test_sigterm_to_the_leader_alone_lets_it_stop_its_own_children(tmp_path):
    """term="leader" (Celery's main process): the children see no SIGTERM of ours; the leader's
    handler ends them its own way before it exits."""
    log = tmp_path / "leader.log"
    proc = spawn(
        _python("""
            import signal, subprocess, sys, time
            child = subprocess.Popen([sys.executable, "-c",
                "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"])
            def shut(*_):
                print("leader got SIGTERM", flush=True)
                child.kill(); child.wait(); sys.exit(0)
            signal.signal(signal.SIGTERM, shut)
            print("child", child.pid, flush=True)
            time.sleep(120)
        """),
        log_path=log,
    )
    child = int(_wait_for_line(proc, log, "child").split()[1])
    assert stop(proc, grace_s=30, term="leader") is True
    assert proc.returncode == 0 and "leader got SIGTERM" in log.read_text()
    assert not pid_alive(child)


def test_kill_runs_no_shutdown_handler(tmp_path):
    log = tmp_path / "killed.log"
    proc = spawn(
        _python("""
            import signal, sys, time
            signal.signal(signal.SIGTERM, lambda *_: (print("handler ran", flush=True), sys.exit(0)))
            print("ready", flush=True)
            time.sleep(120)
        """),
        log_path=log,
    )
    _wait_for_line(proc, log, "ready")
    assert kill(proc) is True
    assert proc.returncode == -signal.SIGKILL and "handler ran" not in log.read_text()


def test_a_process_that_dies_before_it_is_healthy_raises_with_its_exit_code(tmp_path):
    log = tmp_path / "server.log"
    proc = spawn(_python("import sys; print('cannot load model: no-such-model'); sys.exit(3)"), log_path=log)
    with pytest.raises(ProcessError) as err:
        wait_healthy(
            f"http://127.0.0.1:{free_port()}/health", proc, timeout=60, name="test server", log_path=log
        )
    message = str(err.value)
    assert err.value.returncode == 3 and err.value.name == "test server"
    assert f"test server (pid {proc.pid}) exited with code 3 before it was healthy" in message
    assert str(log) in message and message.endswith("cannot load model: no-such-model")


def test_a_server_that_never_answers_is_stopped_at_the_timeout(tmp_path):
    proc = spawn(_python("import time; time.sleep(120)"))
    with pytest.raises(ProcessError) as err:
        wait_healthy(f"http://127.0.0.1:{free_port()}/health", proc, timeout=1, name="silent")
    assert (
        err.value.returncode is None and "silent" in str(err.value) and "was not healthy at" in str(err.value)
    )
    assert proc.returncode is not None and group_members(proc.pid) == []


def test_wait_healthy_returns_once_a_real_server_answers(tmp_path):
    port = free_port()
    (tmp_path / "health").write_text("ok")
    argv = [
        sys.executable,
        "-m",
        "http.server",
        str(port),
        "--bind",
        "127.0.0.1",
        "--directory",
        str(tmp_path),
    ]
    proc = spawn(argv, log_path=tmp_path / "http.log")
    try:
        assert wait_healthy(f"http://127.0.0.1:{port}/health", proc, timeout=60) >= 0
        assert proc.poll() is None
    finally:
        assert stop(proc, grace_s=5) is True


def test_serve_runs_the_number_of_worker_processes_asked_for(tmp_path):
    """`distillery serve --workers 2`: two uvicorn processes under one supervisor."""
    import os
    import subprocess
    import sys
    import time

    import httpx

    from backend.core.net import free_port
    from tests.support.env import ROOT, TEST_ENV

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "backend.cli", "serve", "--port", str(port), "--workers", "2", "--no-migrate"],
        cwd=ROOT,
        env={**os.environ, **TEST_ENV},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        children = (
            open(f"/proc/{proc.pid}/task/{proc.pid}/children").read().split()
            if os.path.exists(f"/proc/{proc.pid}/task/{proc.pid}/children")
            else []
        )
        assert httpx.get(f"http://127.0.0.1:{port}/api/health").status_code == 200
        assert len(children) >= 2, children  # with one worker uvicorn serves in-process: no children
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)


def _parent_of_a_child(tmp_path, child_code: str, grace_s: float = 15):
    """A parent like `distillery up`: inside sigterm_as_interrupt it spawns a child running child_code
    and sleeps; interrupted, it touches `stopping` and stops the child. Returns (parent, the child's
    pid, the stopping file) once the child is there."""
    import os
    import subprocess
    import sys
    import time

    from tests.support.env import ROOT

    pidfile, stopping = tmp_path / "child.pid", tmp_path / "stopping"
    code = f"""
import sys, time
from backend.core.processes import sigterm_as_interrupt, spawn, stop
with sigterm_as_interrupt():
    child = spawn([sys.executable, "-c", {child_code!r}])
    open({str(pidfile)!r}, "w").write(str(child.pid))
    try:
        time.sleep(120)
    except KeyboardInterrupt:
        pass
    finally:
        open({str(stopping)!r}, "w").write("1")
        stop(child, name="the child", grace_s={grace_s})
"""
    parent = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    deadline = time.monotonic() + 30
    while not pidfile.exists() or not pidfile.read_text():
        assert time.monotonic() < deadline and parent.poll() is None
        time.sleep(0.05)
    return parent, int(pidfile.read_text()), stopping


def test_sigterm_stops_the_children_as_ctrl_c_does(tmp_path):
    """What `distillery up` and `demo` do: a SIGTERM to the parent runs its clean-up, so no child is
    left running as an orphan."""
    import time

    from backend.core.processes import pid_alive

    parent, child, _ = _parent_of_a_child(tmp_path, "import time; time.sleep(120)")
    parent.terminate()
    assert parent.wait(timeout=30) == 0
    deadline = time.monotonic() + 10
    while pid_alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(child)


def test_a_second_signal_does_not_cut_the_clean_up_short(tmp_path):
    """Ctrl-C twice, or SIGTERM then SIGTERM: the first starts the clean-up, the second is logged and the
    clean-up still ends the child (here one that ignores SIGTERM, so stop() waits, then kills it)."""
    import time

    from backend.core.processes import pid_alive

    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"
    parent, child, stopping = _parent_of_a_child(tmp_path, stubborn, grace_s=3)
    parent.terminate()
    deadline = time.monotonic() + 30
    while not stopping.exists():
        assert time.monotonic() < deadline and parent.poll() is None
        time.sleep(0.05)
    time.sleep(0.5)  # inside stop(), waiting out the child's grace
    parent.terminate()
    parent.send_signal(2)  # and a Ctrl-C
    assert parent.wait(timeout=30) == 0
    assert not pid_alive(child)
