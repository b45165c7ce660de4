"""A pids cgroup per sandbox run, so a sandbox's process limit is its own.

RLIMIT_NPROC counts every process of the uid on the whole host: sandboxes running side by side (and any
other program running as nobody) eat into each other's limit, so a fork bomb in one check turned correct
answers in the next into `bwrap: Can't fork`. A cgroup's pids.max counts only the processes inside it.
Where no pids controller can be written (not root, no cgroupfs), the sandbox falls back to the rlimit
and the verifier retries the sandbox's own failures instead of blaming the answer.
"""

from __future__ import annotations

import functools
import os
import signal
import time
import uuid
from pathlib import Path

NOBODY = 65534
_CANDIDATES = ("/sys/fs/cgroup/pids", "/sys/fs/cgroup")


@functools.lru_cache(maxsize=1)
def parent() -> Path | None:
    """The directory sandboxes' cgroups are made in, or None where none can be."""
    if os.geteuid() != 0:
        return None
    configured = os.environ.get("DISTILLERY_SANDBOX_CGROUP")
    for base in [configured] if configured else _CANDIDATES:
        home = Path(base, "distillery-sandboxes")
        try:
            home.mkdir(exist_ok=True)
            if (home / "cgroup.controllers").exists():  # cgroup v2: enable pids for the children
                (home.parent / "cgroup.subtree_control").write_text("+pids")
                (home / "cgroup.subtree_control").write_text("+pids")
            probe = home / f"probe-{os.getpid()}"
            probe.mkdir(exist_ok=True)
            ok = (probe / "pids.max").exists()
            probe.rmdir()
            if ok:
                return home
        except OSError:
            continue
    return None


class Group:
    """`with Group(limits) as g`: a fresh cgroup with pids.max = limits.max_processes; g.enter_argv()
    prefixes a command so that it joins the group before it starts anything; on exit every process
    left in it is killed and the group removed."""

    def __init__(self, limits) -> None:
        self.limit = limits.max_processes
        self.path: Path | None = None

    @property
    def active(self) -> bool:
        return self.path is not None

    def __enter__(self) -> Group:
        home = parent()
        if home is None:
            return self
        path = home / f"sbx-{uuid.uuid4().hex[:12]}"
        try:
            path.mkdir()
            # + the reaper, bwrap, its pid 1, the harness, its child
            (path / "pids.max").write_text(str(self.limit + 5))
            for name in ("cgroup.procs", "tasks"):
                if (path / name).exists():
                    os.chown(path / name, NOBODY, NOBODY)  # the command joins as nobody
            self.path = path
        except OSError:
            _remove(path)
        return self

    def enter_argv(self) -> list[str]:
        if self.path is None:
            return []
        return ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', str(self.path / "cgroup.procs")]

    def __exit__(self, *exc) -> None:
        if self.path is not None:
            _remove(self.path)


def _remove(path: Path) -> None:
    for _ in range(50):
        try:
            pids = [int(p) for p in (path / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            pids = []
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.02)  # processes still being reaped
