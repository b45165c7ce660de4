"""Run an untrusted Python program under bubblewrap: every namespace unshared (so no network), the
system's /usr bound read-only and nothing else of the host, a throw-away work dir, uid 65534, an empty
environment, rlimits on CPU, address space, processes and file size, and a wall-clock timeout.

As root, bwrap itself is started as uid 65534 (Popen's user/group) so that the process limit, which
the kernel never applies to root, holds; its unprivileged user namespace then maps 65534 to 65534.
`prlimit` (util-linux) sets the limits before bwrap starts, so no preexec_fn runs in a threaded parent.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

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


@dataclass(frozen=True)
class RunResult:
    status: str  # "ok" (it exited; see returncode) or "timeout" (wall clock)
    returncode: int | None
    stdout: str
    stderr: str
    sandbox: str  # "bwrap" or "none"


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


def _bwrap_argv(bwrap: str, workdir: str, info_fd: int | None = None) -> list[str]:
    info = ["--info-fd", str(info_fd)] if info_fd is not None else []
    return [
        bwrap, *info, "--unshare-all", "--die-with-parent", "--new-session", *_system_binds(),
        "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--bind", workdir, "/sandbox",
        "--chdir", "/sandbox", "--uid", str(NOBODY), "--gid", str(NOBODY), "--hostname", "sandbox",
        "--clearenv", "--",
    ]  # fmt: skip


def _prlimit(limits: Limits) -> list[str]:
    mb = 1024 * 1024
    return [
        shutil.which("prlimit") or "prlimit",
        f"--cpu={limits.cpu_s}",
        f"--as={limits.memory_mb * mb}",
        f"--nproc={limits.max_processes}",
        f"--fsize={limits.file_size_mb * mb}",
        "--core=0",
        "--",
    ]


@functools.lru_cache(maxsize=8)
def probe(bwrap: str | None) -> str | None:
    """None where bwrap runs a program here, else why not (cached per binary)."""
    if not bwrap or not os.access(bwrap, os.X_OK):
        return f"bubblewrap not found ({bwrap or 'bwrap'}); apt-get install bubblewrap"
    with tempfile.TemporaryDirectory(prefix="distillery-probe-") as d:
        os.chmod(d, 0o777)
        try:
            p = subprocess.run(
                [*_bwrap_argv(bwrap, d), "/usr/bin/true"],
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
    with tempfile.TemporaryDirectory(prefix="distillery-sbx-") as work:
        Path(work, "main.py").write_text(code)
        os.chmod(work, 0o777)  # the program's uid owns nothing on the host
        os.chmod(Path(work, "main.py"), 0o644)
        info_r, info_w = os.pipe() if sandboxed else (None, None)
        if sandboxed:
            argv = [
                *_prlimit(limits),
                *_bwrap_argv(bwrap_path() or "bwrap", work, info_w),
                python,
                "-I",
                "main.py",
            ]
        else:
            argv = [*_prlimit(limits), python, "-I", "main.py"]
        # stdout and stderr go to files, so the file-size limit caps them too
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            try:
                proc = subprocess.Popen(
                    argv, stdin=subprocess.PIPE, stdout=out, stderr=err, cwd=work, env={},
                    start_new_session=True, pass_fds=(info_w,) if sandboxed else (), **_as_nobody(),
                )  # fmt: skip
            finally:
                if info_w is not None:
                    os.close(info_w)
            status = "ok"
            try:
                proc.communicate(stdin.encode(), timeout=limits.timeout_s)
            except subprocess.TimeoutExpired:
                status = "timeout"
                _kill(proc, info_r)
            except BrokenPipeError:
                proc.wait()
            finally:
                if info_r is not None:
                    os.close(info_r)
            return RunResult(
                status, proc.returncode, _read(out), _read(err), "bwrap" if sandboxed else "none"
            )


def _kill(proc: subprocess.Popen, info_r: int | None) -> None:
    """SIGKILL the sandbox's pid 1, which takes every process of its pid namespace with it before it
    is reaped. Killing bwrap first would leave that to --die-with-parent, asynchronously: a fork
    bomb would still be running when the verdict is written. The group kill covers the bare mode."""
    if info_r is not None:
        os.set_blocking(info_r, False)
        try:
            child = json.loads(os.read(info_r, 65536) or b"{}").get("child-pid")
        except (OSError, ValueError):
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
