"""A process pool whose checks have a hard timeout: a worker still busy with one check past its
deadline is SIGKILLed from outside and replaced, and that check is answered `timeout`.

math-verify's own timeout is signal.alarm, which only works on a main thread and cannot interrupt
sympy stuck in C (huggingface/Math-Verify#65), so only killing the process is sure. Workers are plain
subprocesses (not multiprocessing children), so the pool also runs inside a daemonic Celery worker.
Each worker gets small batches and answers each check as it finishes; the end of one check is the
start of the next, so every check has its own deadline.

Nothing here waits on a worker's pipe: batches are framed as Connection.send would and written without
blocking, the rest when `select` says the pipe has room, and a worker gets more only once it has taken
everything sent before. (A blocking send to a worker stuck in sympy filled the 64 KiB pipe and kept the
loop from the deadline that would kill it, for ever.) A check that has used stall_s of CPU holds nothing
else up: what was queued behind it goes back to the others, a new worker takes its place in the pool,
and it runs on, detached, until its answer (then it goes) or its deadline (then it is killed); the
first answer of a check that two workers were sent is the one kept.

(pebble's ProcessPool with a per-task timeout was the building block considered: a future and a round
trip per task made it 12k trivial checks/s on 2 cores against this pool's 42k, and its workers are
multiprocessing children.)
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import pickle
import queue
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
_ROOT = str(Path(__file__).resolve().parents[2])
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class Outcome(NamedTuple):
    status: str  # "ok", "timeout" or "error"
    value: Any  # the function's return value, or the error text
    duration_ms: float


class PoolError(RuntimeError):
    pass


@dataclass(eq=False)  # a worker is itself, whatever its state
class _Worker:
    proc: subprocess.Popen
    rx: Connection
    tx: int  # the write end of the worker's pipe, non-blocking
    ready: bool = False
    queue: deque = field(default_factory=deque)  # indexes sent, oldest (running) first
    head_started: float = 0.0
    unsent: bytearray = field(default_factory=bytearray)  # framed batches the pipe had no room for
    cpu: float = 0.0  # its CPU seconds at its last message
    head_cpu: float = 0.0  # its CPU seconds when its head check started
    look_at: float = 0.0  # when to look again whether its head check stalls
    detached: bool = False  # stalled on a check: gets no more work, goes at its answer or deadline


def _cpu_seconds(pid: int, otherwise: float) -> float:
    """User and system CPU seconds of a process (Linux /proc); `otherwise` where it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rpartition(b")")[2].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS
    except (OSError, IndexError, ValueError):
        return otherwise


def _frame(obj: Any) -> bytes:
    """What Connection.send writes (a 4-byte big-endian length, then the pickle), for a non-blocking
    write that may take several turns."""
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return struct.pack("!i", len(data)) + data


class _Spawner:
    """One long-lived thread that starts every worker. A worker dies with the thread that started it
    (PR_SET_PDEATHSIG is per thread on Linux), and a pool is often first used from a short-lived one
    (asyncio.to_thread in the adaptive rollout): its workers were killed when that thread ended."""

    def __init__(self) -> None:
        self._pid = -1
        self._q: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()

    def _loop(self) -> None:
        while True:
            fn, fut = self._q.get()
            try:
                fut.set_result(fn())
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                fut.set_exception(exc)

    def run(self, fn: Callable[[], T]) -> T:
        with self._lock:
            if self._pid != os.getpid():  # first use, or a forked child: the thread is not there
                self._q = queue.SimpleQueue()
                threading.Thread(target=self._loop, name="verifier-spawner", daemon=True).start()
                self._pid = os.getpid()
        fut: Future[T] = Future()
        self._q.put((fn, fut))
        return fut.result()


_spawner = _Spawner()
_watch = threading.local()


@contextmanager
def watched(callback: Callable[[int, int], None], every_s: float = 1.0) -> Iterator[None]:
    """While a map on this thread waits, callback(answered, total) at most every every_s seconds (the
    filter stage's cancel check). What it raises ends the map: its workers still on checks are
    replaced, and the exception goes to the map's caller."""
    before = getattr(_watch, "value", None)
    _watch.value = (callback, max(0.05, every_s))
    try:
        yield
    finally:
        _watch.value = before


class HardTimeoutPool:
    def __init__(
        self,
        size: int | None = None,
        *,
        preload: tuple[str, ...] = (),
        batch: int = 8,
        stall_s: float = 0.5,
    ):
        self.size = max(1, size or os.cpu_count() or 1)
        self.preload, self.batch, self.stall_s = preload, batch, stall_s
        self.kills = self.restarts = self.detaches = 0
        self._lock = threading.Lock()
        self._workers: list[_Worker] = [self._spawn() for _ in range(self.size)]
        self._detached: list[_Worker] = []  # stalled workers still on a check, past the pool's size

    def _spawn(self) -> _Worker:
        return _spawner.run(self._start_worker)

    def _start_worker(self) -> _Worker:
        p_rx, c_tx = os.pipe()
        c_rx, p_tx = os.pipe()
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [_ROOT, os.environ.get("PYTHONPATH")])),
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "workers.verifiers.pool_worker", str(c_rx), str(c_tx), *self.preload],
            pass_fds=(c_rx, c_tx),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
        os.close(c_rx)
        os.close(c_tx)
        os.set_blocking(p_tx, False)
        return _Worker(proc, Connection(p_rx, writable=False), p_tx)

    def _kill(self, w: _Worker) -> None:
        try:
            w.proc.send_signal(signal.SIGKILL)
        except ProcessLookupError:
            pass
        w.proc.wait()
        w.rx.close()
        try:
            os.close(w.tx)
        except OSError:
            pass

    def _replace(self, w: _Worker) -> None:
        self._kill(w)
        if w.detached:  # its place in the pool was filled when it stalled
            self._detached.remove(w)
            return
        self.restarts += 1
        self._workers[self._workers.index(w)] = self._spawn()

    def _flush(self, w: _Worker) -> bool:
        """Writes what the worker's pipe has room for, never waiting; False if the worker is gone."""
        while w.unsent:
            try:
                n = os.write(w.tx, w.unsent)
            except BlockingIOError:
                return True
            except OSError:  # EPIPE: it died
                return False
            del w.unsent[:n]
        return True

    def map(self, fn: str, args: list[tuple], timeout_s: float) -> list[Outcome]:
        """fn ("module:function") applied to each args tuple, each within timeout_s of its start."""
        with self._lock:
            if not self._workers:
                raise PoolError("the pool is closed")
            try:
                return self._map(fn, list(args), timeout_s)
            finally:
                self._settle()

    def _settle(self) -> None:
        """After a map: no worker may still be on a check (one answered by another worker, or left by
        an error), or the next map would wait on it."""
        for w in list(self._detached):
            self._replace(w)
        for w in list(self._workers):
            if w.queue:
                self._replace(w)

    def _lost(self, w: _Worker, pending: deque, out: list) -> int:
        """A worker found dead, on a receive or a send: the check it was on (the likely cause) is
        answered `error`, its other checks go back to pending, and it is replaced. Returns the checks
        answered (0 or 1)."""
        answered = 0
        if w.queue:
            i = w.queue.popleft()
            if out[i] is None:
                out[i] = Outcome("error", "the worker process died", 0.0)
                answered = 1
        log.warning("verifier worker %s died (exit %s)", w.proc.pid, w.proc.poll())
        if not w.detached:  # a detached worker's other checks went back when it stalled
            pending.extendleft(reversed([i for i in w.queue if out[i] is None]))
        self._replace(w)
        return answered

    def _detach(self, w: _Worker, pending: deque) -> None:
        """A worker whose check has used stall_s of CPU: the checks queued behind it go to the other
        workers, a new worker takes its place, and it runs on until its answer or its deadline."""
        w.detached = True
        self.detaches += 1
        pending.extendleft(reversed(list(w.queue)[1:]))
        self._workers[self._workers.index(w)] = self._spawn()
        self._detached.append(w)
        self.restarts += 1

    def _map(self, fn: str, args: list[tuple], timeout_s: float) -> list[Outcome]:
        out: list[Outcome | None] = [None] * len(args)
        pending = deque(range(len(args)))
        left, failed_starts = len(args), 0
        stall_s = min(self.stall_s, timeout_s / 2)
        watch, every_s = getattr(_watch, "value", None) or (None, math.inf)
        watched_at = time.monotonic()
        while left:
            now = time.monotonic()
            if watch is not None and now - watched_at >= every_s:
                watched_at = now
                watch(len(args) - left, len(args))
            for w in list(self._workers):
                # Only to a worker that has taken everything sent before: a blocked write would keep
                # this loop from the deadlines.
                if w.ready and pending and not w.unsent and len(w.queue) < 2 * self.batch:
                    n = min(self.batch, max(1, math.ceil(len(pending) / (2 * self.size))))
                    chunk: list[int] = []
                    while pending and len(chunk) < n:
                        i = pending.popleft()
                        if out[i] is None:  # one re-sent from a stalled worker may be answered since
                            chunk.append(i)
                    if not chunk:
                        continue
                    idle = not w.queue
                    if idle:
                        w.head_started, w.head_cpu, w.look_at = now, w.cpu, now + stall_s
                    w.queue.extend(chunk)
                    w.unsent += _frame([(i, fn, args[i]) for i in chunk])
                    if not self._flush(w):  # it died since its last answer (while idle, even)
                        if idle:  # then no check of this map was the cause
                            w.queue.clear()
                            pending.extendleft(reversed(chunk))
                        left -= self._lost(w, pending, out)
            everyone = self._workers + self._detached
            due = [w.head_started + timeout_s for w in everyone if w.queue]
            due += [w.look_at for w in self._workers if w.queue and self._may_stall(w, pending)]
            wait_s = min(max(0.0, min(due) - now) if due else 1.0, every_s)
            by_rx = {w.rx.fileno(): w for w in everyone}
            by_tx = {w.tx: w for w in everyone if w.unsent}
            readable, writable, _ = select.select(list(by_rx), list(by_tx), [], wait_s)
            for fd in writable:
                w = by_tx[fd]
                if not self._flush(w):
                    left -= self._lost(w, pending, out)
            for fd in readable:
                w = by_rx[fd]
                if w not in self._workers and w not in self._detached:
                    continue  # replaced above
                try:
                    msg = w.rx.recv()
                except (EOFError, OSError):
                    if not w.ready:
                        failed_starts += 1
                        if failed_starts > 3 * self.size:
                            raise PoolError("verifier workers keep dying at start-up") from None
                    left -= self._lost(w, pending, out)
                    continue
                if msg[0] == "ready":
                    w.ready, w.cpu = True, msg[1]
                    continue
                i, status, value, start, end, w.cpu = msg
                if w.queue and w.queue[0] == i:
                    w.queue.popleft()
                elif i in w.queue:
                    w.queue.remove(i)
                w.head_started, w.head_cpu, w.look_at = end, w.cpu, end + stall_s
                if out[i] is None:
                    out[i] = Outcome(status, value, (end - start) * 1000)
                    left -= 1
                if w.detached:  # it came back: what it was sent after this went elsewhere
                    self._replace(w)
            now = time.monotonic()
            for w in self._workers + self._detached:
                if w.queue and now >= w.head_started + timeout_s:
                    i = w.queue.popleft()
                    if out[i] is None:
                        out[i] = Outcome("timeout", None, (now - w.head_started) * 1000)
                        left -= 1
                    self.kills += 1
                    if not w.detached:
                        pending.extendleft(reversed([j for j in w.queue if out[j] is None]))
                    self._replace(w)
                elif not w.detached and w.queue and now >= w.look_at and self._may_stall(w, pending):
                    # By CPU, not wall time: on a loaded machine a check waits for a core, and a new
                    # worker would only add to the load.
                    used = _cpu_seconds(w.proc.pid, now - w.head_started + w.head_cpu) - w.head_cpu
                    if used >= stall_s:
                        self._detach(w, pending)
                    else:
                        w.look_at = now + max(0.05, stall_s - used)
        return out  # type: ignore[return-value]

    @staticmethod
    def _may_stall(w: _Worker, pending: deque) -> bool:
        # Detaching costs a new worker; it pays only where other checks wait.
        return bool(pending) or len(w.queue) > 1

    def close(self) -> None:
        with self._lock:
            for w in self._workers:
                w.unsent += _frame(None)
                self._flush(w)
            deadline = time.monotonic() + 2
            for w in self._workers:
                try:
                    w.proc.wait(max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    pass
                self._kill(w)
            for w in self._detached:
                self._kill(w)
            self._workers, self._detached = [], []


_shared: HardTimeoutPool | None = None
_shared_lock = threading.Lock()


def shared_pool() -> HardTimeoutPool:
    """The process's pool for verifier checks (DISTILLERY_VERIFY_WORKERS, default: one per core)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            size = int(os.environ.get("DISTILLERY_VERIFY_WORKERS") or 0) or None
            _shared = HardTimeoutPool(size, preload=("workers.verifiers.math",))
            atexit.register(close_shared_pool)
        return _shared


def close_shared_pool() -> None:
    global _shared
    with _shared_lock:
        if _shared is not None:
            _shared.close()
            _shared = None
