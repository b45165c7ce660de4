"""One worker process of the hard-timeout pool: runs named functions, one result message per check.

Started as `python -m workers.verifiers.pool_worker RX_FD TX_FD [MODULE...]`; each MODULE is imported
(and its `warm()` called) before the worker says it is ready, so no check pays for importing sympy.
"""

from __future__ import annotations

import ctypes
import importlib
import logging
import signal
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

_PR_SET_PDEATHSIG = 1


def resolve(path: str) -> Callable[..., Any]:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def _die_with_parent() -> None:
    # A check stuck in C never reads its pipe, so it would outlive a killed parent without this.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def main(argv: list[str]) -> int:
    _die_with_parent()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    rx, tx = Connection(int(argv[0]), writable=False), Connection(int(argv[1]), readable=False)
    for module in argv[2:]:
        warm = getattr(importlib.import_module(module), "warm", None)
        if warm is not None:
            warm()
    tx.send(("ready", time.process_time()))
    functions: dict[str, Callable[..., Any]] = {}
    while True:
        try:
            batch = rx.recv()
        except (EOFError, OSError):
            return 0
        if batch is None:
            return 0
        for idx, path, args in batch:
            start = time.monotonic()
            try:
                fn = functions.get(path) or functions.setdefault(path, resolve(path))
                status, value = "ok", fn(*args)
            except Exception as exc:  # a verifier's bug is that item's error, not the worker's end
                status, value = "error", f"{type(exc).__name__}: {exc}"[:500]
            tx.send((idx, status, value, start, time.monotonic(), time.process_time()))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
