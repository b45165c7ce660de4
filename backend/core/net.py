"""Loopback ports for the servers the platform and its tests start (vLLM, fakes, uvicorn)."""

from __future__ import annotations

import random
import socket


def free_port() -> int:
    """A free port below Linux's ephemeral range (32768-60999): a port from bind(0) is one the kernel
    may hand to any outgoing connection (Redis, PostgreSQL) before our server binds it."""
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 20000-32000")
