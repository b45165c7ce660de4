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
DATA_DIR/vllm and stopped before this host starts another, so it cannot keep holding the GPU.
"""

from __future__ import annotations

import atexit
import json
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
from backend.core.net import free_port

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = "vllm.entrypoints.openai.api_server"
TAIL_LINES = 40


class VLLMStartError(RuntimeError):
    """The server exited or never became healthy; the message carries the end of its log."""


@dataclass(frozen=True)
class VLLMServerSpec:
    """How to start one server. Equal specs share a warm server (see acquire)."""

    model: str  # a path, or a hub id as the user typed it, e.g. Qwen/Qwen2.5-7B-Instruct
    served_model_name: str | None = None  # None: the same as model
    tensor_parallel_size: int = 1
    max_model_len: int | None = None  # None: the model config's own
    gpu_memory_utilization: float = 0.9  # on the CPU build: the share of RAM for weights and KV cache
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


def vllm_python() -> str:
    """DISTILLERY_VLLM_PYTHON, else .venv-vllm/bin/python under the repository, else this interpreter."""
    configured = get_settings().vllm_python
    if configured:
        return configured
    local = ROOT / ".venv-vllm" / "bin" / "python"
    return str(local) if local.exists() else sys.executable


def _group_members(pgid: int) -> list[int]:
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


def _stop_group(pgid: int, proc: subprocess.Popen | None, grace_s: float) -> None:
    """SIGTERM the group, wait up to grace_s for all of it to go, then SIGKILL what is left."""
    if pgid <= 1:
        return
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 10.0)):
        if not _group_members(pgid) and (proc is None or proc.poll() is not None):
            return
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            pass
        except PermissionError:  # the group id was taken over by someone else's process
            return
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if proc is not None:
                proc.poll()  # reap the leader, or it stays a zombie of ours
            if not _group_members(pgid) and (proc is None or proc.returncode is not None):
                return
            time.sleep(0.2)
        if sig == signal.SIGTERM:
            log.warning("vLLM process group %s ignored SIGTERM for %.0f s; killing it", pgid, grace_s)
    log.error("vLLM process group %s still has %s after SIGKILL", pgid, _group_members(pgid))


class VLLMServer:
    """One vLLM server process group on a loopback port; a context manager that starts and stops it."""

    def __init__(self, spec: VLLMServerSpec, *, python: str | None = None):
        self.spec = spec
        self.python = python or vllm_python()
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None
        self.log_path: Path | None = None
        self.startup_s: float | None = None
        self._record: Path | None = None
        self._owner = os.getpid()
        self._running = False  # started and not yet stopped: stop() has a process group to end

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

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
        self.log_path = folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{self.port}.log"
        argv = self.spec.argv(self.python, "127.0.0.1", self.port)
        env = os.environ.copy()  # HF_HUB_OFFLINE, CUDA_VISIBLE_DEVICES etc. as the caller has them
        env.setdefault("PYTHONUNBUFFERED", "1")  # so a crash's last words reach the log
        log.info("starting vLLM (log %s): %s", self.log_path, " ".join(argv))
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=env,
                cwd=folder,
            )
        self._running = True
        self._write_record(folder)
        with httpx.Client(timeout=2) as http:
            while True:
                if self.proc.poll() is not None:
                    code = self.proc.returncode
                    self.stop(grace_s=5)  # the engine's own children may outlive the API server
                    raise VLLMStartError(f"vLLM exited with code {code} while starting:\n{self.tail()}")
                elapsed = time.monotonic() - started
                if elapsed > timeout_s:
                    self.stop(grace_s=5)
                    raise VLLMStartError(f"vLLM was not healthy after {timeout_s:.0f} s:\n{self.tail()}")
                try:
                    if http.get(f"http://127.0.0.1:{self.port}/health").status_code == 200:
                        self.startup_s = elapsed
                        log.info("vLLM ready on port %s after %.1f s", self.port, elapsed)
                        return self
                except httpx.HTTPError:
                    pass
                time.sleep(0.5)

    def tail(self, lines: int = TAIL_LINES) -> str:
        """The last lines of the server's log: on failure, the real reason is in there."""
        if self.log_path is None:
            return "(no log)"
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError as e:
            return f"(log {self.log_path} unreadable: {e})"

    def stop(self, grace_s: float = 30) -> None:
        """SIGTERM the server's process group (API server, engine core, workers), wait up to grace_s
        for all of it, then SIGKILL. Idempotent; a copy inherited by a forked child does nothing."""
        if self.proc is None or not self._running or os.getpid() != self._owner:
            return
        self._running = False
        _stop_group(self.proc.pid, self.proc, grace_s)
        if self._record is not None:
            self._record.unlink(missing_ok=True)
            self._record = None
        log.info("vLLM on port %s stopped", self.port)

    def _write_record(self, folder: Path) -> None:
        """Who owns this server, so that reap_orphans can stop it if its owner dies without stop()."""
        assert self.proc is not None
        self._record = folder / f"server-{self.proc.pid}.json"
        record = {"pgid": self.proc.pid, "owner": os.getpid(), "host": socket.gethostname()}
        self._record.write_text(json.dumps({**record, "port": self.port, "model": self.spec.model}))

    def __enter__(self) -> VLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.alive() else "stopped"
        return f"<VLLMServer {self.spec.served_name!r} port={self.port} {state}>"


def reap_orphans(folder: Path) -> None:
    """Stop servers this host started for a worker process that has since died without stopping
    them (SIGKILL at a hard time limit, OOM killer): such a server would hold the accelerator."""
    host = socket.gethostname()
    for path in folder.glob("server-*.json"):
        try:
            record = json.loads(path.read_text())
            pgid, owner = int(record["pgid"]), int(record["owner"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if record.get("host") != host or _pid_alive(owner):
            continue
        try:
            cmdline = Path(f"/proc/{pgid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            cmdline = ""
        if ENTRYPOINT in cmdline or (not cmdline and _group_members(pgid)):
            log.warning("stopping vLLM group %s left by dead worker process %s", pgid, owner)
            _stop_group(pgid, None, grace_s=30)
        path.unlink(missing_ok=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead for our purpose
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in "ZX"
    except (OSError, IndexError):
        return True


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
