"""Child processes the platform starts and must be able to end for certain: the API and a worker for
the demo, vLLM's server for a worker, test servers and workers.

A child is started in a session of its own, so that it leads a process group holding everything it
forks (Celery's pool, vLLM's engine core); stopping it signals that group, waits, and SIGKILLs what is
left, so no grandchild keeps a port, a GPU or a database connection. Waiting for a child to be ready
fails as soon as it exits, with its exit code and the end of its log, instead of at a timeout.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Literal, NoReturn

import httpx

log = logging.getLogger(__name__)
TAIL_LINES = 40


class ProcessError(RuntimeError):
    """A child exited, or was not ready in time; the message names it and ends with its log's tail.

    returncode: its exit status (negative: the signal that ended it), or None when it was still
    running at the timeout (it is stopped before this is raised)."""

    def __init__(self, message: str, *, name: str = "process", returncode: int | None = None) -> None:
        super().__init__(message)
        self.name, self.returncode = name, returncode


def spawn(
    argv: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    cwd: str | Path | None = None,
    log_path: Path | None = None,
    append: bool = False,
) -> subprocess.Popen:
    """Start argv in a new session: it leads a process group of its own, so stop() ends everything it
    forks. env is laid over this process's environment. With log_path, stdout and stderr go to that
    file (appended to with append) and stdin is closed; without, the child shares this terminal."""
    full_env = {**os.environ, **(env or {})}
    if log_path is None:
        return subprocess.Popen(list(argv), env=full_env, cwd=cwd, start_new_session=True)
    with open(log_path, "ab" if append else "wb") as out:  # the child keeps its own copy open
        return subprocess.Popen(
            list(argv),
            env=full_env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _already_stopping(signum: int, _frame) -> None:
    log.warning("signal %s: already stopping; the children are being stopped", signum)


def _interrupt(signum: int, _frame) -> NoReturn:
    # A second Ctrl-C or SIGTERM must not cut the clean-up short: stop() is bounded (grace, then
    # SIGKILL), and an interrupted one leaves its children running as orphans.
    signal.signal(signal.SIGTERM, _already_stopping)
    signal.signal(signal.SIGINT, _already_stopping)
    raise KeyboardInterrupt(f"signal {signum}")


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Inside: SIGTERM (how docker and systemd stop a program) raises KeyboardInterrupt as Ctrl-C
    does, so the caller's `finally` stops its children instead of leaving them orphaned; signals
    after the first are logged, not raised, so that clean-up runs to its end."""
    before = signal.signal(signal.SIGTERM, _interrupt), signal.signal(signal.SIGINT, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before[0])
        signal.signal(signal.SIGINT, before[1])


def log_tail(log_path: Path | None, lines: int = TAIL_LINES) -> str:
    """The last lines of a child's log: when it fails, the real reason is in there."""
    if log_path is None:
        return "(no log)"
    try:
        return "\n".join(Path(log_path).read_text(errors="replace").splitlines()[-lines:])
    except OSError as e:
        return f"(log {log_path} unreadable: {e})"


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group. Orphaned children may never be reaped where
    PID 1 does not reap, so signalling the group with 0 cannot tell a dead group from a live one."""
    if pgid <= 1:  # 0 would mean our own group to killpg; never one of ours
        return []
    try:
        entries = os.listdir("/proc")
    except OSError:  # no /proc: ask the kernel, zombies and all
        try:
            os.killpg(pgid, 0)
            return [pgid]
        except (ProcessLookupError, PermissionError):
            return []
    members = []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
        rest = stat[stat.rfind(")") + 2 :].split()
        if len(rest) > 2 and rest[0] not in "ZX" and int(rest[2]) == pgid:
            members.append(int(entry))
    return members


def pid_alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie (a zombie is dead for every purpose here)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in "ZX"
    except (OSError, IndexError):
        return True


def _gone(pgid: int, proc: subprocess.Popen | None) -> bool:
    if proc is not None:
        proc.poll()  # reap the leader, or it stays a zombie of ours
    return not group_members(pgid) and (proc is None or proc.returncode is not None)


def _wait_gone(pgid: int, proc: subprocess.Popen | None, wait_s: float) -> bool:
    deadline = time.monotonic() + wait_s
    while not _gone(pgid, proc):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def _signal(pgid: int, sig: int, *, leader_only: bool) -> None:
    try:
        if leader_only:
            try:
                os.kill(pgid, sig)
                return
            except ProcessLookupError:  # the leader is gone but not all of its group: signal the rest
                pass
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def stop_group(
    pgid: int,
    proc: subprocess.Popen | None = None,
    *,
    grace_s: float = 15,
    name: str = "process group",
    term: Literal["group", "leader"] = "group",
) -> bool:
    """SIGTERM the group (or its leader alone, for a leader that stops its own children cleanly, as
    Celery's main process does), wait up to grace_s for every member to go, then SIGKILL the group.
    proc: the leader's Popen, when it is ours (it is reaped). True when nothing of it is left."""
    if pgid <= 1:
        return True
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 10.0)):
        if _gone(pgid, proc):
            return True
        try:
            _signal(pgid, sig, leader_only=sig == signal.SIGTERM and term == "leader")
        except PermissionError:  # the group id was taken over by someone else's process
            return True
        if _wait_gone(pgid, proc, wait_s):
            return True
        if sig == signal.SIGTERM:
            log.warning("%s (process group %s) ignored SIGTERM for %.0f s; killing it", name, pgid, grace_s)
    left = group_members(pgid)
    log.error("%s (process group %s) still has %s after SIGKILL", name, pgid, left)
    return not left


def stop(
    proc: subprocess.Popen,
    *,
    grace_s: float = 15,
    name: str | None = None,
    term: Literal["group", "leader"] = "group",
) -> bool:
    """stop_group for a child started by spawn (it leads its group); a no-op once all of it is gone."""
    return stop_group(proc.pid, proc, grace_s=grace_s, name=name or _name(proc), term=term)


def kill(proc: subprocess.Popen) -> bool:
    """SIGKILL a spawned child's whole group at once, so that no shutdown handler of theirs runs."""
    _signal(proc.pid, signal.SIGKILL, leader_only=False)
    return _wait_gone(proc.pid, proc, 10.0)  # and reaps the leader


def wait_until(
    ready: Callable[[], bool],
    proc: subprocess.Popen,
    *,
    ready_as: str,
    timeout: float,
    name: str | None = None,
    log_path: Path | None = None,
    interval: float = 0.3,
) -> float:
    """Call ready() until it is true; returns the seconds that took. ProcessError, naming the child,
    its exit code and the end of its log, as soon as it exits first or when timeout passes; either
    way its whole group is stopped before the error is raised, so nothing is left running.

    ready_as completes "<name> was not ...", e.g. "healthy at http://127.0.0.1:8000/health"."""
    name = name or _name(proc)
    started = time.monotonic()
    while True:
        code = proc.poll()
        if code is not None:
            message = f"{name} (pid {proc.pid}) exited with code {describe_exit(code)} before it was "
            message += ready_as
            _fail(proc, name, message, code, log_path)
        if ready():
            return time.monotonic() - started
        if time.monotonic() - started >= timeout:
            message = f"{name} (pid {proc.pid}) was not {ready_as} after {timeout:.0f} s"
            _fail(proc, name, message, None, log_path)
        time.sleep(interval)


def wait_healthy(
    url: str,
    proc: subprocess.Popen,
    *,
    timeout: float = 60,
    name: str | None = None,
    log_path: Path | None = None,
) -> float:
    """wait_until GET url answers 200 (a connection refused or a slow answer counts as not yet)."""
    with httpx.Client(timeout=2, trust_env=False) as http:  # loopback: never through a proxy

        def answers() -> bool:
            try:
                return http.get(url).status_code == 200
            except httpx.HTTPError:
                return False

        return wait_until(
            answers, proc, ready_as=f"healthy at {url}", timeout=timeout, name=name, log_path=log_path
        )


def _fail(
    proc: subprocess.Popen, name: str, message: str, code: int | None, log_path: Path | None
) -> NoReturn:
    stop(proc, grace_s=5, name=name)  # a dead leader's children may still hold its port
    if log_path is not None:
        message += f"; the end of its log {log_path}:\n{log_tail(log_path)}"
    raise ProcessError(message, name=name, returncode=code)


def describe_exit(code: int) -> str:
    """An exit status as people read it: "1", or "-9 (SIGKILL)" for a signal."""
    if code < 0:
        try:
            return f"{code} ({signal.Signals(-code).name})"
        except ValueError:
            pass
    return str(code)


def _name(proc: subprocess.Popen) -> str:
    args = proc.args
    first = args if isinstance(args, str | bytes | os.PathLike) else args[0]
    return Path(os.fsdecode(first)).name
