"""vLLM's OpenAI-compatible server, started and stopped by the worker that needs it.

Why a subprocess with its own interpreter: vLLM pins exact versions of torch, transformers, fastapi
and setuptools, which would fight the platform's own environment. The worker therefore never imports
vllm; it runs `python -m vllm.entrypoints.openai.api_server` with DISTILLERY_VLLM_PYTHON (by default
.venv-vllm/bin/python, made by scripts/setup-vllm.sh for the CPU build; on a GPU host, any
environment with `pip install vllm`), waits for /health, and drives the server through the
openai_compat client. One server per worker process is kept warm across a rollout's chunks and
stopped when the worker shuts down or another model is needed.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import httpx

from backend.core.config import get_settings

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[2]


class VLLMStartError(RuntimeError):
    """The server exited or never became healthy; the message carries the end of its log."""


@dataclass(frozen=True)
class VLLMServerSpec:
    model: str  # a path, or a hub id as the user typed it, e.g. Qwen/Qwen2.5-7B-Instruct
    served_model_name: str | None = None
    tensor_parallel_size: int = 1
    max_model_len: int | None = None
    gpu_memory_utilization: float = 0.9
    enable_prefix_caching: bool = True
    reasoning_parser: str | None = None  # e.g. deepseek_r1, qwen3
    dtype: str = "auto"
    enforce_eager: bool = False
    extra_args: tuple[str, ...] = ()

    @property
    def served_name(self) -> str:
        return self.served_model_name or self.model

    def argv(self, python: str, host: str, port: int) -> list[str]:
        out = [python, "-m", "vllm.entrypoints.openai.api_server", "--model", self.model]
        out += ["--served-model-name", self.served_name, "--host", host, "--port", str(port)]
        out += ["--tensor-parallel-size", str(self.tensor_parallel_size)]
        if self.max_model_len:
            out += ["--max-model-len", str(self.max_model_len)]
        out += ["--gpu-memory-utilization", str(self.gpu_memory_utilization)]
        out.append("--enable-prefix-caching" if self.enable_prefix_caching else "--no-enable-prefix-caching")
        if self.reasoning_parser:
            out += ["--reasoning-parser", self.reasoning_parser]
        out += ["--dtype", self.dtype]
        if self.enforce_eager:
            out.append("--enforce-eager")
        return out + list(self.extra_args)

    @classmethod
    def from_settings(cls, model: str, settings: dict[str, Any]) -> VLLMServerSpec:
        """From a teacher's settings; unknown keys are ignored, a wrong type names its key."""
        kinds = {"int": int, "float": float, "bool": bool, "str": str}
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "model" or f.name not in settings or settings[f.name] is None:
                continue
            v = settings[f.name]
            if f.name == "extra_args":
                if not isinstance(v, list | tuple) or not all(isinstance(a, str) for a in v):
                    raise ValueError("teacher setting extra_args must be a list of strings")
                values[f.name] = tuple(v)
                continue
            kind = kinds[f.type.split(" | ")[0]]
            ok = isinstance(v, kind) and not (kind is not bool and isinstance(v, bool))
            if kind is float and isinstance(v, int) and not isinstance(v, bool):
                v, ok = float(v), True
            if not ok:
                raise ValueError(f"teacher setting {f.name} must be {kind.__name__}, not {type(v).__name__}")
            values[f.name] = v
        return cls(model=model, **values)


def vllm_python() -> str:
    configured = get_settings().vllm_python
    if configured:
        return configured
    local = ROOT / ".venv-vllm" / "bin" / "python"
    return str(local) if local.exists() else sys.executable


def _free_port() -> int:
    import random

    for _ in range(200):
        port = random.randint(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port in 20000-32000")


class VLLMServer:
    def __init__(self, spec: VLLMServerSpec, *, python: str | None = None):
        self.spec = spec
        self.python = python or vllm_python()
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None
        self.log_path: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def served_name(self) -> str:
        return self.spec.served_name

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout_s: float = 900) -> VLLMServer:
        folder = get_settings().data_dir / "vllm"
        folder.mkdir(parents=True, exist_ok=True)
        self.port = _free_port()
        self.log_path = folder / f"server-{self.port}.log"
        argv = self.spec.argv(self.python, "127.0.0.1", self.port)
        log.info("starting vLLM: %s", " ".join(argv))
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=os.environ.copy()
            )
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            if self.proc.poll() is not None:
                raise VLLMStartError(f"vLLM exited with {self.proc.returncode}:\n{self._tail()}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=2).status_code == 200:
                    log.info("vLLM ready on port %s after %.1f s", self.port, time.monotonic() - started)
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.stop()
        raise VLLMStartError(f"vLLM not healthy after {timeout_s:.0f} s:\n{self._tail()}")

    def _tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """SIGTERM the server's process group (API server, engine core, workers), then SIGKILL."""
        if self.proc is None or self.proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        log.info("vLLM on port %s stopped", self.port)

    def __enter__(self) -> VLLMServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


_lock = threading.Lock()
_current: VLLMServer | None = None


def acquire(spec: VLLMServerSpec) -> VLLMServer:
    """This process's server for spec: the running one if it matches, else a fresh one (one at a time:
    it holds the accelerator)."""
    global _current
    with _lock:
        if _current is not None and _current.spec == spec and _current.alive():
            return _current
        if _current is not None:
            _current.stop()
        _current = VLLMServer(spec).start()
        return _current


def release_all(**_: Any) -> None:
    global _current
    with _lock:
        if _current is not None:
            _current.stop()
            _current = None


atexit.register(release_all)
try:
    from celery.signals import worker_process_shutdown, worker_shutdown

    worker_process_shutdown.connect(release_all, weak=False)
    worker_shutdown.connect(release_all, weak=False)
except ImportError:  # pragma: no cover - celery is a dependency; this keeps the module importable alone
    pass
