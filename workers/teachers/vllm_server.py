"""vLLM's OpenAI-compatible server, started and stopped by the worker that needs it.

Why a subprocess with its own interpreter: vLLM pins exact versions of torch, transformers, fastapi
and setuptools (the CPU build 0.32.0: torch==2.13.0+cpu, fastapi<0.137, setuptools==78.1.1), which
would fight the platform's own environment. The worker therefore never imports vllm; it runs
`python -m vllm.entrypoints.openai.api_server` with DISTILLERY_VLLM_PYTHON (by default
.venv-vllm/bin/python, made by scripts/setup-vllm.sh for the CPU build; on a GPU host, any
environment with `pip install vllm`), waits for /health, and drives the server through the
openai_compat client. A subprocess also gives the accelerator back for certain: stopping the
server's process group frees every byte it held, which unloading a model in-process does not.

One server per worker process is kept warm across a rollout's chunks (acquire) and stopped when the
worker shuts down, the stage has no chunk left, or another model is needed (release_all). A server
whose worker was killed outright (a hard time limit's SIGKILL) is found through its record under
DATA_DIR/vllm (vllm_records.py) and stopped before this host starts another, so it cannot keep
holding the GPU. The server gets the worker's own GPUs (gpus.py).
A server that dies while serving ends the generation at once (Watched) with VLLMServerDied: its exit
code and the scrubbed end of its log become the stage's error, not a pile of connection failures.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import httpx

from backend.core.config import get_settings
from backend.core.logging import scrub
from backend.core.net import free_port
from backend.core.processes import (
    TAIL_LINES,
    ProcessError,
    describe_exit,
    log_tail,
    spawn,
    stop_group,
    wait_healthy,
)
from backend.teachers.vllm_flags import refused_flags
from workers.teachers.gpus import placement, worker_gpus
from workers.teachers.vllm_records import ENTRYPOINT, host_identity, reap_orphans, write_record

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[2]
# How much of vLLM's log a crash's error carries: the traceback's last frames and the error itself,
# short enough for a stage's error field.
CRASH_LINES, CRASH_CHARS = 20, 2000


class VLLMStartError(ProcessError):
    """The server exited or never became healthy; the message carries the end of its log."""


class VLLMServerDied(ProcessError):
    """The server exited while it was serving (an engine error, the OOM killer): its exit code and the
    scrubbed end of its log, where otherwise its requests would only end as connection failures."""


@dataclass(frozen=True)
class VLLMServerSpec:
    """How to start one server. Equal specs share a warm server (see acquire)."""

    model: str  # a path, or a hub id as the user typed it, e.g. Qwen/Qwen2.5-7B-Instruct
    served_model_name: str | None = None  # None: the same as model
    tensor_parallel_size: int = 1
    max_model_len: int | None = None  # None: the model config's own
    # None: 0.9 of a GPU's memory, or DISTILLERY_VLLM_CPU_MEMORY_SHARE of the host's RAM on a host without
    # a GPU (the CPU build reads the flag as a share of RAM for weights and KV cache)
    gpu_memory_utilization: float | None = None
    enable_prefix_caching: bool = True
    reasoning_parser: str | None = None  # e.g. deepseek_r1, qwen3
    dtype: str = "auto"
    enforce_eager: bool = False
    extra_args: tuple[str, ...] = ()  # passed through as they are, after every flag above

    @property
    def served_name(self) -> str:
        return self.served_model_name or self.model

    def argv(self, python: str, host: str, port: int) -> list[str]:
        """The command line; every flag's spelling checked against vLLM 0.32.0's --help."""
        out = [python, "-m", ENTRYPOINT, "--model", self.model, "--served-model-name", self.served_name]
        out += ["--host", host, "--port", str(port), "--tensor-parallel-size", str(self.tensor_parallel_size)]
        if self.max_model_len is not None:
            out += ["--max-model-len", str(self.max_model_len)]
        share = self.gpu_memory_utilization
        out += ["--gpu-memory-utilization", str(share if share is not None else default_memory_share())]
        out.append("--enable-prefix-caching" if self.enable_prefix_caching else "--no-enable-prefix-caching")
        if self.reasoning_parser:
            out += ["--reasoning-parser", self.reasoning_parser]
        out += ["--dtype", self.dtype]
        if self.enforce_eager:
            out.append("--enforce-eager")
        return out + list(self.extra_args)

    @classmethod
    def from_settings(cls, model: str, settings: dict[str, Any]) -> VLLMServerSpec:
        """From a teacher's settings; unknown keys are ignored, a wrong type or value names its key."""
        kinds = {"int": int, "float": float, "bool": bool, "str": str}
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "model" or f.name not in settings or settings[f.name] is None:
                continue
            v = settings[f.name]
            if f.name == "extra_args":
                if not isinstance(v, list | tuple) or not all(isinstance(a, str) for a in v):
                    raise ValueError("teacher setting extra_args must be a list of strings")
                # checked again here: a teacher stored before the API checked its flags must not
                # start a server with --trust-remote-code either
                refused = refused_flags(v)
                if refused:
                    raise ValueError(
                        "teacher setting extra_args: " + "; ".join(f"{f}: {why}" for _, f, why in refused)
                    )
                values[f.name] = tuple(v)
                continue
            kind = kinds[str(f.type).split(" | ")[0]]
            ok = isinstance(v, kind) and not (kind is not bool and isinstance(v, bool))
            if kind is float and isinstance(v, int) and not isinstance(v, bool):
                v, ok = float(v), True
            if not ok:
                raise ValueError(f"teacher setting {f.name} must be {kind.__name__}, not {type(v).__name__}")
            values[f.name] = v
        for name, good, want in (
            ("tensor_parallel_size", lambda x: x >= 1, "at least 1"),
            ("max_model_len", lambda x: x >= 1, "at least 1"),
            ("gpu_memory_utilization", lambda x: 0 < x <= 1, "in (0, 1]"),
            ("served_model_name", bool, "non-empty"),
            ("dtype", bool, "non-empty"),
        ):
            if name in values and not good(values[name]):
                raise ValueError(f"teacher setting {name} must be {want}, not {values[name]!r}")
        return cls(model=model, **values)


GPU_MEMORY_SHARE = 0.9  # vLLM's own default, for a GPU


def _has_gpu() -> bool:
    try:
        import torch
    except ImportError:  # a worker without torch runs no GPU work itself: the driver decides
        return Path("/proc/driver/nvidia/gpus").is_dir()
    return torch.cuda.is_available()


def default_memory_share() -> float:
    """--gpu-memory-utilization where the teacher sets none: vLLM's 0.9 of a GPU, or on a CPU host the
    configured share of RAM (0.9 of the host's RAM would starve everything else on it)."""
    return GPU_MEMORY_SHARE if _has_gpu() else get_settings().vllm_cpu_memory_share


_EXCEPTION = re.compile(r"\b((?:[A-Za-z_][\w]*\.)*[A-Za-z_]\w*(?:Error|Exception|Exit)): (.+)$")
# what vLLM's front end says when its engine process failed: the cause is the engine's own error above
_WRAPPER = ("See root cause above", "Engine core initialization failed", "Engine process failed to start")


def error_line(log_text: str) -> str | None:
    """vLLM's own reason for dying in its log: the last exception line ("ValueError: ..."), skipping the
    front end's "see root cause above" wrappers, without the logger's prefixes; else the last non-empty
    line; None for an empty log."""
    lines = [ln.strip() for ln in log_text.splitlines() if ln.strip()]
    causes = [m for ln in lines if (m := _EXCEPTION.search(ln))]
    real = [m for m in causes if not any(w in m.group(2) for w in _WRAPPER)]
    if real or causes:
        m = (real or causes)[-1]
        return f"{m.group(1)}: {m.group(2)}"
    return lines[-1] if lines else None


def vllm_python() -> str:
    """DISTILLERY_VLLM_PYTHON, else .venv-vllm/bin/python under the repository, else this interpreter."""
    configured = get_settings().vllm_python
    if configured:
        return configured
    local = ROOT / ".venv-vllm" / "bin" / "python"
    return str(local) if local.exists() else sys.executable


class VLLMServer:
    """One vLLM server process group on a loopback port; a context manager that starts and stops it."""

    def __init__(
        self, spec: VLLMServerSpec, *, python: str | None = None, host: str = "127.0.0.1", url_host: str = ""
    ):
        self.spec = spec
        self.python = python or vllm_python()
        # where it listens, and the name its URL gives: loopback for the worker's own servers; a served
        # student (workers/jobs/serve.py) may listen for other hosts
        self.host = host
        self.url_host = url_host or (socket.gethostname() if host == "0.0.0.0" else host)
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None
        self.log_path: Path | None = None
        self.startup_s: float | None = None
        self.gpus: tuple[str, ...] | None = None  # this worker's GPUs the server was given (None: CPU)
        self.placement: dict[str, str] = {}
        self._record: Path | None = None
        self._owner = os.getpid()
        self._running = False  # started and not yet stopped: stop() has a process group to end

    @property
    def base_url(self) -> str:
        return f"http://{self.url_host}:{self.port}/v1"

    @property
    def _local(self) -> str:
        """This host's own way to the server (its health, its /tokenize)."""
        return "127.0.0.1" if self.host in ("0.0.0.0", "127.0.0.1") else self.host

    @property
    def served_name(self) -> str:
        return self.spec.served_name

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout_s: float = 600) -> VLLMServer:
        """Launch the server and wait for /health; VLLMStartError (with the log's end) if it exits or
        is not healthy within timeout_s. A port someone else bound meanwhile is retried on another."""
        if self.alive():
            return self
        # before anything starts: a teacher too big for this worker's GPUs is the user's error (Invalid)
        self.gpus = worker_gpus()
        self.placement = placement(
            self.spec.tensor_parallel_size,
            self.spec.extra_args,
            self.gpus,
            what=f"vLLM for {self.spec.model!r}",
        )
        folder = get_settings().data_dir / "vllm"
        folder.mkdir(parents=True, exist_ok=True)
        reap_orphans(folder)
        started = time.monotonic()
        for attempt in range(3):
            try:
                return self._start_once(folder, started, timeout_s)
            except VLLMStartError as e:
                if attempt == 2 or "address already in use" not in str(e).lower():
                    raise
                log.warning("vLLM lost port %s to another process; trying another", self.port)
        raise AssertionError("unreachable")

    def _start_once(self, folder: Path, started: float, timeout_s: float) -> VLLMServer:
        self._owner = os.getpid()
        self.port = free_port()
        # the host's identity in the name: hosts (or containers) sharing the data directory may reuse
        # a pid and a port in the same second
        stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-{host_identity()}-{os.getpid()}-{self.port}"
        self.log_path = folder / f"{stamp}.log"
        argv = self.spec.argv(self.python, self.host, self.port)
        # HF_HUB_OFFLINE etc. as the caller has them, the worker's own GPUs (gpus.placement); unbuffered,
        # so that a crash's last words reach the log
        env = {"PYTHONUNBUFFERED": os.environ.get("PYTHONUNBUFFERED", "1"), **self.placement}
        gpus = ",".join(self.gpus) if self.gpus is not None else "none (CPU)"
        log.info("starting vLLM on GPUs %s (log %s): %s", gpus, self.log_path, " ".join(argv))
        self.proc = spawn(argv, env=env, cwd=folder, log_path=self.log_path)
        self._running = True
        self._write_record(folder)
        try:
            wait_healthy(
                f"http://{self._local}:{self.port}/health",
                self.proc,
                timeout=timeout_s - (time.monotonic() - started),
                name="vLLM",
                log_path=self.log_path,
            )
        except ProcessError as e:
            self.stop(grace_s=5)  # its group is gone already: this drops the record
            # vLLM's own error line, not the end of a traceback (often another process's noise); the
            # whole log stays on disk. Scrubbed: vLLM logs its arguments and environment, keys included.
            what = str(e).split("; the end of its log", 1)[0]
            why = error_line(self.tail(400))
            message = f"{what}: {scrub(why)}" if why else what
            raise VLLMStartError(
                f"{message} (its log: {self.log_path})", name=e.name, returncode=e.returncode
            ) from e
        self.startup_s = time.monotonic() - started
        log.info("vLLM ready on port %s after %.1f s", self.port, self.startup_s)
        return self

    def render(self, messages: list[dict[str, Any]], timeout_s: float = 60) -> list[int]:
        """The prompt ids this server builds for a chat (its /tokenize, which renders the chat template
        as its chat completions do): what the model is actually served, in the server's own
        environment, whose transformers may render differently from the worker's."""
        body = {"model": self.served_name, "messages": messages, "add_generation_prompt": True}
        url = self.base_url.removesuffix("/v1") + "/tokenize"
        with httpx.Client(trust_env=False, timeout=timeout_s) as http:
            r = http.post(url, json=body)
        r.raise_for_status()
        return [int(t) for t in r.json()["tokens"]]

    def tail(self, lines: int = TAIL_LINES) -> str:
        """The last lines of the server's log: on failure, the real reason is in there."""
        return log_tail(self.log_path, lines)

    def crash(self) -> VLLMServerDied | None:
        """None while the server runs (or before it started); once its process has exited, the error to
        raise, and the rest of its process group stopped (an engine core left behind holds the GPU).
        The log's tail is scrubbed: vLLM logs its arguments and environment, keys included."""
        if self.proc is None or self.proc.poll() is None:
            return None
        code = self.proc.returncode
        tail = (scrub(self.tail(CRASH_LINES)) or "(empty log)")[-CRASH_CHARS:]
        self.stop(grace_s=5)
        return VLLMServerDied(
            f"vLLM serving {self.served_name!r} (pid {self.proc.pid}, port {self.port}) exited with code "
            f"{describe_exit(code)} while serving requests; the end of its log {self.log_path}:\n{tail}",
            name="vLLM",
            returncode=code,
        )

    def stop(self, grace_s: float = 30) -> None:
        """SIGTERM the server's process group (API server, engine core, workers), wait up to grace_s
        for all of it, then SIGKILL. Idempotent; a copy inherited by a forked child does nothing."""
        if self.proc is None or not self._running or os.getpid() != self._owner:
            return
        self._running = False
        stop_group(self.proc.pid, self.proc, grace_s=grace_s, name="vLLM")
        if self._record is not None:
            self._record.unlink(missing_ok=True)
            self._record = None
        log.info("vLLM on port %s stopped", self.port)

    def _write_record(self, folder: Path) -> None:
        """Who owns this server, so that reap_orphans can stop it if its owner dies without stop()."""
        assert self.proc is not None and self.port is not None
        self._record = write_record(
            folder, pgid=self.proc.pid, port=self.port, model=self.spec.model, gpus=self.gpus
        )

    def __enter__(self) -> VLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.alive() else "stopped"
        return f"<VLLMServer {self.spec.served_name!r} port={self.port} {state}>"


class Watched:
    """A client of a server this worker started that ends as soon as the server's process exits, with
    VLLMServerDied: the client alone would retry every request against the dead port (tens of seconds
    of backoff) and the stage would fail with nothing but "connection" as its cause."""

    def __init__(self, inner, server: VLLMServer, poll_s: float = 0.5):
        self.inner, self.server, self.poll_s = inner, server, poll_s
        self.name = inner.name

    async def _died(self) -> VLLMServerDied | None:
        if self.server.alive():
            return None
        return await asyncio.to_thread(self.server.crash)  # stopping the group waits: off the loop

    async def generate(self, requests: list) -> AsyncIterator[tuple[Any, list]]:
        items = self.inner.generate(requests).__aiter__()
        step: asyncio.Future | None = None
        try:
            while True:
                step = asyncio.ensure_future(items.__anext__())
                while not step.done():
                    await asyncio.wait({step}, timeout=self.poll_s)
                    if not step.done() and (died := await self._died()) is not None:
                        raise died
                try:
                    item = step.result()
                except StopAsyncIteration:
                    return
                # a failure the server's exit explains: say why, rather than store "connection" errors
                if not all(c.ok for c in item[1]) and (died := await self._died()) is not None:
                    raise died
                yield item
        finally:
            if step is not None and not step.done():
                step.cancel()  # the client's finally cancels its requests in flight
                await asyncio.gather(step, return_exceptions=True)
            if hasattr(items, "aclose"):
                await items.aclose()

    @property
    def gpu_seconds(self) -> float:
        return self.inner.gpu_seconds

    async def aclose(self) -> None:
        await self.inner.aclose()


_lock = threading.RLock()  # re-entrant: a shutdown hook may run on the thread that holds it
_current: VLLMServer | None = None


def acquire(spec: VLLMServerSpec, timeout_s: float = 600) -> VLLMServer:
    """This process's server for spec: the running one if it is equal and alive, else a fresh one after
    stopping the other (one at a time per process: it holds the accelerator)."""
    global _current
    with _lock:
        if _current is not None and _current.spec == spec and _current.alive():
            return _current
        if _current is not None:
            old, _current = _current, None
            log.info("stopping vLLM for %s to start %s", old.spec.model, spec.model)
            old.stop()
        server = VLLMServer(spec)
        server.start(timeout_s=timeout_s)  # raises with the log's end; nothing is left running
        _current = server
        return server


def current() -> VLLMServer | None:
    """The server acquire() holds in this process, if any."""
    return _current


def release_all(**_: Any) -> None:
    """Stop this process's server. Takes any keyword so it can be a Celery signal receiver."""
    global _current
    with _lock:
        server, _current = _current, None
        if server is not None:
            server.stop()


atexit.register(release_all)
try:
    from celery.signals import worker_process_shutdown, worker_shutdown
except ImportError:  # pragma: no cover - celery is a dependency; this keeps the module importable alone
    pass
else:
    worker_process_shutdown.connect(release_all, weak=False)
    worker_shutdown.connect(release_all, weak=False)
