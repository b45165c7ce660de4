"""Records of the vLLM servers this platform's workers started, under DATA_DIR/vllm: which process owns
each, so that a worker can stop the servers its host's dead workers left running (SIGKILL at a hard
time limit, the OOM killer), which would otherwise hold the accelerator, and nobody else's.

Several workers, hosts or containers may share the data directory, so a record names its host by an
identity (name, boot, pid namespace) and is only ever read by the same identity: containers with host
networking share a name while their pids mean other processes. A record also keeps when its
processes started, so a pid reused since by another process (another worker's server, say) is never
taken for the one it recorded.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
from pathlib import Path

from backend.core.processes import group_members, pid_alive, stop_group

log = logging.getLogger(__name__)
ENTRYPOINT = "vllm.entrypoints.openai.api_server"


def write_record(folder: Path, *, pgid: int, port: int, model: str, gpus: tuple[str, ...] | None) -> Path:
    """Who owns the server whose process group is pgid (this process), for reap_orphans; its path, which
    the owner removes when it stops the server."""
    host = host_identity()
    path = folder / f"server-{host}-{pgid}.json"
    record = {"pgid": pgid, "owner": os.getpid(), "host": host, "started": start_ticks(pgid),
              "owner_started": start_ticks(os.getpid()), "port": port, "model": model,
              "gpus": list(gpus) if gpus is not None else None}  # fmt: skip
    path.write_text(json.dumps(record))
    return path


def host_identity() -> str:
    """This host as the records under DATA_DIR/vllm tell hosts apart: its name, its boot and its pid
    namespace. Containers sharing the data directory may share a host name (host networking) while
    their pids mean different processes; a pid is only ever compared within one identity."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()[:8]
    except OSError:
        boot = "noboot"
    try:
        pidns = os.readlink("/proc/self/ns/pid").removeprefix("pid:[").removesuffix("]")
    except OSError:
        pidns = "0"
    name = re.sub(r"[^A-Za-z0-9.-]", "_", socket.gethostname())[:64]
    return f"{name}-{boot}-{pidns}"


def start_ticks(pid: int) -> int | None:
    """When a process started (clock ticks after boot, /proc/<pid>/stat's 22nd field): a pid reused by
    a later process has another, so a record never names a stranger."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def _same(pid: int, started: object) -> bool:
    """Whether pid is alive and still the process a record saw start (no start time known: alive)."""
    if not pid_alive(pid):
        return False
    return started is None or start_ticks(pid) in (None, started)


def reap_orphans(folder: Path) -> None:
    """Stop servers this host started for a worker process that has since died without stopping
    them. Only
    this host identity's records are read, and only a group whose leader is the very process the
    record saw start is stopped: another worker's live server (its owner alive), another container's
    (another identity) and a pid reused since are left alone."""
    host = host_identity()
    for path in folder.glob(f"server-{host}-*.json"):
        try:
            record = json.loads(path.read_text())
            pgid, owner = int(record["pgid"]), int(record["owner"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if record.get("host") != host or _same(owner, record.get("owner_started")):
            continue
        try:
            cmdline = Path(f"/proc/{pgid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            cmdline = ""
        if not _same(pgid, record.get("started")):
            cmdline = ""  # the leader is gone or its pid is someone else's now: only its group may remain
        if ENTRYPOINT in cmdline or (not cmdline and not pid_alive(pgid) and group_members(pgid)):
            log.warning("stopping vLLM group %s left by dead worker process %s", pgid, owner)
            stop_group(pgid, grace_s=30, name="vLLM")
        path.unlink(missing_ok=True)
