"""The code verifier's sandbox walls, each proven by a program that tries to cross it, plus per-test
results and the refusal to run unsandboxed unless a setting allows it."""

from __future__ import annotations

import os
import socket
import subprocess

import pytest

from workers.verifiers import sandbox
from workers.verifiers.verify import verify_many

pytestmark = pytest.mark.pure  # no database, broker or worker: `make test-fast` runs it with both down

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def code(items, **settings):
    return verify_many({"verifiers": [{"name": "code", "settings": settings}]}, items)


def program(src: str, **tests) -> dict:
    return {"completion": f"<think>plan</think>\n```python\n{src}\n```", **tests}


def live_sandbox_processes() -> list[str]:
    ps = subprocess.run(
        ["ps", "-o", "stat=,args=", "-u", str(sandbox.NOBODY)], capture_output=True, text=True
    )
    return [line for line in ps.stdout.splitlines() if line.strip() and not line.lstrip().startswith("Z")]


def test_per_test_results_for_io_and_assert_tests():
    io = program(
        "print(int(input()) * 2)", tests=[{"input": "2", "output": "4"}, {"input": "5", "output": "11"}]
    )
    asserts = program(
        "def f(x):\n    return x + 1", tests={"asserts": ["assert f(1) == 2", "assert f(2) == 4"]}
    )
    crash = program("raise SystemExit(3)", tests={"inputs": ["1"], "outputs": ["1"]})
    vs = code([io, asserts, crash, {"completion": "no code here", "tests": "assert True"}, program("x = 1")])
    assert [v.status for v in vs] == ["wrong", "wrong", "wrong", "unparseable", "reference_unparseable"]
    assert [t["status"] for t in vs[0].detail["tests"]] == ["passed", "wrong"] and vs[0].score == 0.5
    assert [t["status"] for t in vs[1].detail["tests"]] == ["passed", "wrong"]
    assert vs[2].detail["tests"][0] == {"status": "runtime_error", "exit": 3, "stderr": ""}
    assert vs[0].detail["sandbox"] == "bwrap"
    ok = code(
        [
            program(
                "import sys\nprint(sum(map(int, sys.stdin.read().split())))",
                tests={"inputs": ["1 2\n3"], "outputs": ["6"]},
            )
        ]
    )
    assert ok[0].status == "passed" and ok[0].passed is True


def test_no_network_even_to_loopback():
    with socket.create_connection(("127.0.0.1", 5432), timeout=5):  # the port is open outside
        pass
    src = (
        "import socket\ntry:\n    socket.create_connection(('127.0.0.1', 5432), timeout=3)\n"
        "    print('connected')\nexcept OSError as exc:\n    print('blocked', type(exc).__name__)"
    )
    v = code([program(src, tests=[{"input": "", "output": "blocked ConnectionRefusedError"}])])[0]
    assert v.status == "passed", v.detail


def test_platform_files_and_environment_are_invisible():
    assert os.environ.get("DISTILLERY_SECRET_KEY") and os.path.isdir(ROOT)
    src = (
        "import os\n"
        f"print(os.getuid(), os.getgid(), os.path.exists({ROOT!r}), os.path.exists('/work'),"
        " os.path.exists('/root'), os.path.exists('/etc/passwd'),"
        " sorted(k for k in os.environ if k not in ('PWD', 'LC_CTYPE')))"
    )
    v = code([program(src, tests=[{"input": "", "output": "65534 65534 False False False False []"}])])[0]
    assert v.status == "passed", v.detail


@pytest.mark.slow  # waits out a sandbox timeout
def test_fork_bomb_is_killed_with_no_process_left():
    bomb = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
    v = code([program(bomb, tests=[{"input": "", "output": ""}])], timeout_s=3, cpu_s=2, max_processes=16)[0]
    assert v.status == "timeout" and v.passed is None
    assert live_sandbox_processes() == []


@pytest.mark.slow  # waits out a sandbox timeout
def test_cpu_loop_is_killed():
    v = code([program("while True:\n    pass", tests=[{"input": "", "output": ""}])], timeout_s=20, cpu_s=1)[
        0
    ]
    assert v.status == "timeout" and v.detail["tests"][0]["limit"] == "cpu_or_memory"
    assert live_sandbox_processes() == []


def test_two_gib_allocation_fails():
    src = "try:\n    x = bytearray(2 * 1024**3)\n    print('allocated')\nexcept MemoryError:\n    print('no')"
    v = code([program(src, tests=[{"input": "", "output": "no"}])], memory_mb=512)[0]
    assert v.status == "passed", v.detail


def test_throw_away_work_dir_and_file_size_limit():
    src = (
        "import os\nprint(sorted(os.listdir('.')))\nopen('note', 'w').write('x')\n"
        "try:\n    open('big', 'wb').write(b'x' * (8 * 1024 * 1024))\n"
        "except OSError as exc:\n    print(exc.errno)"
    )
    vs = code([program(src, tests=[{"input": "", "output": "['main.py']\n27"}] * 2)], file_size_mb=1)
    assert vs[0].status == "passed", vs[0].detail  # the second run does not see the first one's files


def test_refuses_unsandboxed_unless_allowed(monkeypatch):
    monkeypatch.setenv("DISTILLERY_BWRAP", "/nonexistent/bwrap")
    item = program("print(input())", tests=[{"input": "hi", "output": "hi"}])
    with pytest.raises(sandbox.SandboxUnavailable, match="refuses to run unsandboxed"):
        code([item])
    v = code([item], allow_unsandboxed=True)[0]
    assert v.status == "passed" and v.detail["sandbox"] == "none"


def _still_there(pid: int) -> bool:
    """Whether pid is still a sandbox's process, running or a zombie nobody reaps."""
    try:
        with open(f"/proc/{pid}/status") as f:
            status = dict(line.split(":", 1) for line in f if ":" in line)
    except OSError:
        return False
    return status["Name"].strip() == "bwrap" and status["Uid"].split()[0] == str(sandbox.NOBODY)


@pytest.mark.slow  # 200 checks, about 50 sandboxes; make test runs it
def test_every_sandbox_process_is_reaped(monkeypatch):
    """Issue 23: each run left its sandbox's pid 1 (bwrap's init) a zombie parented to PID 1, which
    counts against nobody's process limit for as long as PID 1 does not reap it. The pid 1 of every
    sandbox these checks start (the child-pid in bwrap's status) must be gone once they are answered.
    This process is made a subreaper for the test, so an orphan comes to it rather than to a PID 1 that
    may reap now and then (some container inits do), which would hide the leak."""
    import ctypes
    import re
    import time

    seen: list[int] = []
    drain = sandbox._drain

    def spy(fd):
        text = drain(fd)
        seen.extend(int(p) for p in re.findall(r'"child-pid":\s*(\d+)', text))
        return text

    monkeypatch.setattr(sandbox, "_drain", spy)
    asserts = [
        program(f"def f(x):\n    return x + {i % 2}", tests={"asserts": ["assert f(1) == 1"]})
        for i in range(160)
    ]
    ios = [program("print(input())", tests=[{"input": str(i), "output": str(i)}]) for i in range(40)]
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    assert prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    try:
        vs = code(asserts + ios)
        assert [v.status for v in vs] == ["passed", "wrong"] * 80 + ["passed"] * 40
        assert len(seen) >= 50  # a harness sandbox per batch of answers, one per stdin/stdout test
        deadline = time.monotonic() + 3
        while (left := [p for p in seen if _still_there(p)]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert left == [], f"{len(left)} of {len(seen)} sandboxes left their pid 1 behind"
    finally:
        prctl(36, 0, 0, 0, 0)
        for pid in seen:  # what came to this process: reap it, so the session does not keep it
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
