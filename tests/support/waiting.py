"""Waiting with a deadline: every test that waits for a worker, a server or a file waits through here,
so a wait that never ends fails with what it waited for and what it last saw, never hangs."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")
FINISHED = ("succeeded", "failed", "cancelled")


def poll_until(
    check: Callable[[], T], what: str, *, timeout: float = 60, interval: float = 0.2, seen=None
) -> T:
    """check()'s first truthy value, polled every `interval` s; AssertionError naming `what` (and the
    last `seen()` when given) once `timeout` s have passed without one."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            last = f"; last seen: {seen()!r}" if seen is not None else ""
            raise AssertionError(f"{what}: not after {timeout} s{last}")
        time.sleep(interval)


def wait_for_status(
    client, headers, url: str, statuses: Iterable[str], *, timeout: float = 120, stop_on: Iterable[str] = ()
) -> dict:
    """GET `url` until its object's status is one of `statuses`; fails at once on one of `stop_on`."""
    wanted, stop = set(statuses), set(stop_on)
    last: dict = {}

    def check() -> dict | None:
        nonlocal last
        last = client.get(url, headers=headers).json()
        assert last.get("status") not in stop, f"{url} ended {last.get('status')}: {last}"
        return last if last.get("status") in wanted else None

    return poll_until(
        check, f"{url} {'/'.join(sorted(wanted))}", timeout=timeout, interval=0.1, seen=lambda: last
    )


def wait_finished(client, headers, url: str, timeout: float = 120) -> dict:
    """Poll a job or run until it succeeded, failed or was cancelled."""
    return wait_for_status(client, headers, url, FINISHED, timeout=timeout)


def wait_job(client, headers, project_id: int, job_id: int) -> dict:
    return wait_finished(client, headers, f"/api/projects/{project_id}/jobs/{job_id}")


def wait_run(client, headers, project_id: int, run_id: int, timeout: float = 120) -> dict:
    return wait_finished(client, headers, f"/api/projects/{project_id}/runs/{run_id}", timeout=timeout)


def wait_stage(
    client, headers, project_id: int, run_id: int, kind: str, status: str, timeout: float = 60
) -> dict:
    """The run once its `kind` stage is `status`; fails at once if the run failed or was cancelled."""
    url = f"/api/projects/{project_id}/runs/{run_id}"
    last: dict = {}

    def check() -> dict | None:
        nonlocal last
        last = client.get(url, headers=headers).json()
        stage = next(s for s in last["stages"] if s["kind"] == kind)
        assert last["status"] not in ("failed", "cancelled"), (
            last["error"],
            [s["error"] for s in last["stages"]],
        )
        return last if stage["status"] == status else None

    return poll_until(check, f"{kind} stage {status}", timeout=timeout, interval=0.1, seen=lambda: last)
