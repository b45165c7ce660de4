"""Run an untrusted Python program under bubblewrap: every namespace unshared (so no network), the
system's /usr bound read-only and nothing else of the host, a throw-away work dir, uid 65534, an empty
environment, rlimits on CPU, address space, processes and file size, and a wall-clock timeout.

As root, bwrap itself is started as uid 65534 (Popen's user/group) so that the process limit, which
the kernel never applies to root, holds; its unprivileged user namespace then maps 65534 to 65534.
`prlimit` (util-linux) sets the limits before bwrap starts, so no preexec_fn runs in a threaded parent.
bwrap runs under reaper.py, which reaps bwrap's init once bwrap is done with it (see there why).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import signal
import struct
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from workers.verifiers import cgroup

log = logging.getLogger(__name__)
NOBODY = 65534
_OUTPUT_CAP = 64 * 1024


class SandboxUnavailable(RuntimeError):
    pass


@dataclass(frozen=True)
class Limits:
    timeout_s: float = 10.0
    cpu_s: int = 5
    memory_mb: int = 512
    max_processes: int = 32
    file_size_mb: int = 16
    disk_mb: int = 64


@dataclass(frozen=True)
class RunResult:
    status: str  # "ok" (it exited; see returncode) or "timeout" (wall clock)
    returncode: int | None
    stdout: str
    stderr: str
    sandbox: str  # "bwrap" or "none"
    report: str | None = None  # what the harness wrote after its last test (run_harness only)
    failure: str | None = None  # the sandbox itself failed (never a verdict on the program)


def bwrap_path() -> str | None:
    return os.environ.get("DISTILLERY_BWRAP") or shutil.which("bwrap")


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64"):
        p = Path(top)
        if p.is_symlink():
            args += ["--symlink", os.readlink(p), top]
        elif p.is_dir():
            args += ["--ro-bind", top, top]
    return args


def _bwrap_argv(
    bwrap: str, workdir: str, status_fd: int | None = None, files: tuple[str, ...] = (), disk_mb: int = 0
) -> list[str]:
    """/sandbox is a tmpfs of disk_mb (its bytes are RAM, so the cap is all the program can write) with
    the program's files bound read-only into it, and /tmp is a link to it, so one cap covers both; the
    root and /dev (tmpfs bwrap makes, owned by the sandbox's uid) are made read-only, so nothing else
    can be written. Without files (the probe) workdir itself is /sandbox."""
    status = ["--json-status-fd", str(status_fd)] if status_fd is not None else []
    if files:
        work = ["--size", str(disk_mb * 1024 * 1024), "--tmpfs", "/sandbox", "--symlink", "/sandbox", "/tmp"]
        for name in files:
            work += ["--ro-bind", str(Path(workdir, name)), f"/sandbox/{name}"]
    else:
        work = ["--bind", workdir, "/sandbox", "--tmpfs", "/tmp"]
    return [
        bwrap, *status, "--unshare-all", "--die-with-parent", "--new-session", *_system_binds(),
        "--proc", "/proc", "--dev", "/dev", *work, "--remount-ro", "/dev", "--remount-ro", "/",
        "--chdir", "/sandbox", "--uid", str(NOBODY), "--gid", str(NOBODY), "--hostname", "sandbox",
        "--clearenv", "--",
    ]  # fmt: skip


def _prlimit(limits: Limits, nproc: int | None) -> list[str]:
    """rlimits per process; the process count only where no cgroup holds the sandbox (RLIMIT_NPROC
    counts every process of the uid on the host, so other sandboxes would eat into it)."""
    mb = 1024 * 1024
    return [
        shutil.which("prlimit") or "prlimit",
        f"--cpu={limits.cpu_s}",
        f"--as={limits.memory_mb * mb}",
        *([f"--nproc={nproc}"] if nproc else []),
        f"--fsize={limits.file_size_mb * mb}",
        "--core=0",
        "--",
    ]


REAPER = Path(__file__).with_name("reaper.py").read_text()


def _reaped(python: str) -> list[str]:
    """The prefix that runs bwrap under reaper.py, on the sandbox's interpreter."""
    return [python, "-I", "-S", "-c", REAPER]


@functools.lru_cache(maxsize=8)
def probe(bwrap: str | None, python: str = "/usr/bin/python3") -> str | None:
    """None where bwrap runs a program here, else why not (cached per binary and interpreter)."""
    if not bwrap or not os.access(bwrap, os.X_OK):
        return f"bubblewrap not found ({bwrap or 'bwrap'}); apt-get install bubblewrap"
    if not os.access(python, os.X_OK):
        return f"no interpreter at {python} to run the sandbox with"
    with tempfile.TemporaryDirectory(prefix="distillery-probe-") as d:
        os.chmod(d, 0o777)
        try:
            p = subprocess.run(
                [*_reaped(python), *_bwrap_argv(bwrap, d), "/usr/bin/true"],
                capture_output=True,
                timeout=20,
                env={},
                **_as_nobody(),
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"bubblewrap cannot start: {exc}"
    if p.returncode != 0:
        return f"bubblewrap cannot run here: {p.stderr.decode(errors='replace').strip()[:300]}"
    return None


def _as_nobody() -> dict:
    return {"user": NOBODY, "group": NOBODY, "extra_groups": []} if os.geteuid() == 0 else {}


def run_python(code: str, stdin: str, limits: Limits, *, python: str, sandboxed: bool = True) -> RunResult:
    """Run `code` as a file with `stdin` fed to it; sandboxed=False is the explicit unsandboxed mode."""
    return _run(
        {"main.py": code}, [python, "-I", "main.py"], stdin.encode(), limits, sandboxed, report=False,
        python=python,
    )  # fmt: skip


def run_harness(
    answers: list[str], specs: list[dict], limits: Limits, *, python: str, sandboxed: bool = True
) -> RunResult:
    """Run answers' tests through harness.py (see there why), one answer after another in one sandbox;
    `report` holds a JSON line per answer the harness finished, written after its last test. `limits`
    apply to the sandbox; each answer's process gets limits.cpu_s of CPU of its own."""
    files = {f"answer-{k}.py": a for k, a in enumerate(answers)}
    files["harness.py"] = HARNESS.read_text()
    stdin = b"".join(struct.pack(">I", len(b)) + b for b in (json.dumps(s).encode() for s in specs))
    argv = [python, "-I", "harness.py", "{report}", str(len(answers)), str(limits.cpu_s)]
    whole = Limits(limits.timeout_s, limits.cpu_s * (len(answers) + 1) + 5, limits.memory_mb,
                   limits.max_processes, limits.file_size_mb, limits.disk_mb)  # fmt: skip
    return _run(files, argv, stdin, whole, sandboxed, report=True, python=python)


HARNESS = Path(__file__).with_name("harness.py")


def _run(
    files: dict[str, str],
    argv_tail: list[str],
    stdin: bytes,
    limits: Limits,
    sandboxed: bool,
    report: bool,
    python: str,
) -> RunResult:
    with tempfile.TemporaryDirectory(prefix="distillery-sbx-") as work, cgroup.Group(limits) as group:
        for name, text in files.items():
            Path(work, name).write_text(text)
            os.chmod(Path(work, name), 0o644)
        os.chmod(work, 0o777)  # the program's uid owns nothing on the host
        status_r, status_w = os.pipe() if sandboxed else (None, None)
        report_r, report_w = os.pipe() if report else (None, None)
        tail = [str(report_w) if a == "{report}" else a for a in argv_tail]
        nproc = None if group.active else limits.max_processes  # the cgroup's limit is per sandbox
        if sandboxed:
            bw = _bwrap_argv(bwrap_path() or "bwrap", work, status_w, tuple(files), limits.disk_mb)
            argv = [*_prlimit(limits, nproc), *_reaped(python), *bw, *tail]
        else:
            argv = [*_prlimit(limits, nproc), *tail]
        keep = tuple(fd for fd in (status_w, report_w) if fd is not None)
        # stdout and stderr go to files, so the file-size limit caps them too
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            try:
                proc = subprocess.Popen(
                    [*group.enter_argv(), *argv], stdin=subprocess.PIPE, stdout=out, stderr=err,
                    cwd=work, env={}, start_new_session=True, pass_fds=keep, **_as_nobody(),
                )  # fmt: skip
            finally:
                for fd in keep:
                    os.close(fd)
            state = "ok"
            try:
                proc.communicate(stdin, timeout=limits.timeout_s)
            except subprocess.TimeoutExpired:
                state = "timeout"
                _kill(proc, status_r)
            except BrokenPipeError:
                proc.wait()
            started = "child-pid" in _drain(status_r)  # bwrap's status: the program was started
            got = _drain(report_r)
            stderr = _read(err)
            failure = None
            if sandboxed and state == "ok" and not started:
                failure = f"the sandbox did not start: {stderr.strip()[-300:] or f'exit {proc.returncode}'}"
            return RunResult(
                state, proc.returncode, _read(out), stderr, "bwrap" if sandboxed else "none",
                report=got or None, failure=failure,
            )  # fmt: skip


def _drain(fd: int | None) -> str:
    """All that is left in a pipe (its writers are gone): the report's text, or bwrap's status lines."""
    if fd is None:
        return ""
    chunks: list[bytes] = []
    os.set_blocking(fd, False)
    try:
        while len(chunks) < 64:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks).decode(errors="replace")


def _kill(proc: subprocess.Popen, status_r: int | None) -> None:
    """SIGKILL the sandbox's pid 1, which takes every process of its pid namespace with it before it
    is reaped. Killing bwrap first would leave that to --die-with-parent, asynchronously: a fork
    bomb would still be running when the verdict is written. The group kill covers the bare mode."""
    if status_r is not None:
        os.set_blocking(status_r, False)
        try:
            first = os.read(status_r, 65536).decode(errors="replace")
            child = json.JSONDecoder().raw_decode(first.lstrip())[0].get("child-pid")
        except (OSError, ValueError, AttributeError):
            child = None
        if child:
            try:
                os.kill(int(child), signal.SIGKILL)
                # bwrap exits once its child is reaped, which is after the namespace is empty
                proc.wait(10)
                return
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _read(f) -> str:
    f.seek(0)
    return f.read(_OUTPUT_CAP).decode(errors="replace")
