"""A process pool whose checks have a hard timeout: a worker still busy with one check past its
deadline is SIGKILLed from outside and replaced, and that check is answered `timeout`.

math-verify's own timeout is signal.alarm, which only works on a main thread and cannot interrupt
sympy stuck in C (huggingface/Math-Verify#65), so only killing the process is sure. Workers are plain
subprocesses (not multiprocessing children), so the pool also runs inside a daemonic Celery worker.
Each worker gets small batches and answers each check as it finishes; the end of one check is the
start of the next, so every check has its own deadline. (pebble's ProcessPool with a per-task timeout
was the building block considered: a future and a round trip per task made it 12k trivial checks/s on
2 cores against this pool's 42k, and its workers are multiprocessing children.)
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, NamedTuple

log = logging.getLogger(__name__)
_ROOT = str(Path(__file__).resolve().parents[2])


class Outcome(NamedTuple):
    status: str  # "ok", "timeout" or "error"
    value: Any  # the function's return value, or the error text
    duration_ms: float


class PoolError(RuntimeError):
    pass


@dataclass
class _Worker:
    proc: subprocess.Popen
    rx: Connection
    tx: Connection
    ready: bool = False
    queue: deque = field(default_factory=deque)  # indexes sent, oldest (running) first
    head_started: float = 0.0


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

    def run(self, fn):
        with self._lock:
            if self._pid != os.getpid():  # first use, or a forked child: the thread is not there
                self._q = queue.SimpleQueue()
                threading.Thread(target=self._loop, name="verifier-spawner", daemon=True).start()
                self._pid = os.getpid()
        fut: Future = Future()
        self._q.put((fn, fut))
        return fut.result()


_spawner = _Spawner()


class HardTimeoutPool:
    def __init__(self, size: int | None = None, *, preload: tuple[str, ...] = (), batch: int = 8):
        self.size = max(1, size or os.cpu_count() or 1)
        self.preload, self.batch = preload, batch
        self.kills = self.restarts = 0
        self._lock = threading.Lock()
        self._workers: list[_Worker] = [self._spawn() for _ in range(self.size)]

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
        return _Worker(proc, Connection(p_rx, writable=False), Connection(p_tx, readable=False))

    def _kill(self, w: _Worker) -> None:
        try:
            w.proc.send_signal(signal.SIGKILL)
        except ProcessLookupError:
            pass
        w.proc.wait()
        w.rx.close()
        w.tx.close()

    def _replace(self, w: _Worker) -> None:
        self._kill(w)
        self.restarts += 1
        self._workers[self._workers.index(w)] = self._spawn()

    def map(self, fn: str, args: list[tuple], timeout_s: float) -> list[Outcome]:
        """fn ("module:function") applied to each args tuple, each within timeout_s of its start."""
        with self._lock:
            if not self._workers:
                raise PoolError("the pool is closed")
            return self._map(fn, list(args), timeout_s)

    def _lost(self, w: _Worker, pending: deque, out: list) -> int:
        """A worker found dead, on a receive or a send: the check it was on (the likely cause) is
        answered `error`, its other checks go back to pending, and it is replaced. Returns the checks
        answered (0 or 1)."""
        answered = 0
        if w.queue:
            out[w.queue.popleft()] = Outcome("error", "the worker process died", 0.0)
            answered = 1
        log.warning("verifier worker %s died (exit %s)", w.proc.pid, w.proc.poll())
        pending.extendleft(reversed(w.queue))
        self._replace(w)
        return answered

    def _map(self, fn: str, args: list[tuple], timeout_s: float) -> list[Outcome]:
        out: list[Outcome | None] = [None] * len(args)
        pending = deque(range(len(args)))
        left, failed_starts = len(args), 0
        while left:
            now = time.monotonic()
            for w in self._workers:
                if w.ready and pending and len(w.queue) < 2 * self.batch:
                    n = min(self.batch, max(1, math.ceil(len(pending) / (2 * self.size))))
                    chunk = [pending.popleft() for _ in range(min(n, len(pending)))]
                    try:
                        w.tx.send([(i, fn, args[i]) for i in chunk])
                    except OSError:  # it died since its last answer (while idle, even)
                        pending.extendleft(reversed(chunk))
                        left -= self._lost(w, pending, out)
                        continue
                    if not w.queue:
                        w.head_started = now
                    w.queue.extend(chunk)
            busy = [w.head_started + timeout_s for w in self._workers if w.queue]
            wait_s = max(0.0, min(busy) - now) if busy else 1.0
            by_conn = {w.rx: w for w in self._workers}
            for conn in wait(list(by_conn), timeout=wait_s):
                w = by_conn[conn]
                try:
                    msg = conn.recv()
                except (EOFError, OSError):
                    if not w.ready:
                        failed_starts += 1
                        if failed_starts > 3 * self.size:
                            raise PoolError("verifier workers keep dying at start-up") from None
                    left -= self._lost(w, pending, out)
                    continue
                if msg[0] == "ready":
                    w.ready = True
                    continue
                i, status, value, start, end = msg
                w.queue.popleft()
                w.head_started = end
                out[i] = Outcome(status, value, (end - start) * 1000)
                left -= 1
            now = time.monotonic()
            for w in list(self._workers):
                if w.queue and now >= w.head_started + timeout_s:
                    i = w.queue.popleft()
                    out[i] = Outcome("timeout", None, (now - w.head_started) * 1000)
                    left -= 1
                    self.kills += 1
                    pending.extendleft(reversed(w.queue))
                    self._replace(w)
        return out  # type: ignore[return-value]

    def close(self) -> None:
        with self._lock:
            for w in self._workers:
                try:
                    w.tx.send(None)
                except OSError:
                    pass
            deadline = time.monotonic() + 2
            for w in self._workers:
                try:
                    w.proc.wait(max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    pass
                self._kill(w)
            self._workers = []


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
