"""Login throttling per account and per client address.

Each key (the email tried, the client's address) counts its recent failures. The first `free` ones
cost nothing; after that every attempt must wait 1, 2, 4 ... seconds (up to 15 minutes) after the
last failure, and one that comes sooner is refused with 429 and Retry-After before any password is
checked. A success clears the account's count; a key's failures are forgotten 15 minutes after its
last one. Unknown emails are counted like known ones, so the throttle tells nothing about accounts.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.core.config import get_settings
from backend.core.db import session_scope
from backend.core.errors import TooManyRequests
from backend.users.models import LoginThrottle

MAX_WAIT_S = 900.0


def keys(email: str, address: str | None) -> dict[str, int]:
    """The throttle keys of one attempt, each with its number of free failures."""
    s = get_settings()
    out = {f"email:{email.strip().lower()}"[:400]: s.login_free_failures}
    if address:
        out[f"addr:{address}"[:400]] = s.login_free_failures_per_address
    return out


def _wait_s(row: LoginThrottle, free: int, now: datetime) -> float:
    since = (now - row.last_failure_at).total_seconds()
    if since > MAX_WAIT_S or row.failures < free:
        return 0.0
    return max(0.0, min(2.0 ** (row.failures - free), MAX_WAIT_S) - since)


def check(session: Session, attempt: dict[str, int]) -> None:
    """429 with Retry-After when any key of the attempt must still wait."""
    now = datetime.now(UTC)
    wait = 0.0
    for key, free in attempt.items():
        row = session.get(LoginThrottle, key)
        if row is not None:
            wait = max(wait, _wait_s(row, free, now))
    if wait > 0:
        seconds = math.ceil(wait)
        raise TooManyRequests(
            f"too many failed logins; try again in {seconds} s", retry_after=seconds, code="too_many_logins"
        )


def record_failure(attempt: dict[str, int]) -> None:
    """Count a failure for every key, in a transaction of its own (the request's is rolled back)."""
    for _ in range(2):  # a concurrent first failure of the same key inserts it first: count again
        try:
            with session_scope() as s:
                now = datetime.now(UTC)
                for key in attempt:
                    row = s.get(LoginThrottle, key, with_for_update=True)
                    if row is None:
                        s.add(LoginThrottle(key=key, failures=1, last_failure_at=now))
                    else:
                        stale = now - row.last_failure_at > timedelta(seconds=MAX_WAIT_S)
                        row.failures = 1 if stale else row.failures + 1
                        row.last_failure_at = now
            return
        except IntegrityError:
            continue


def clear_account(session: Session, email: str) -> None:
    row = session.get(LoginThrottle, f"email:{email.strip().lower()}"[:400])
    if row is not None:
        session.delete(row)
