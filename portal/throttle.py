"""Sign-in throttling, counted from the audit log's failed sign-ins.

Why the database and not Redis or flask-limiter: every failed sign-in is already an audit row
(actor, address, time), so counting those rows needs no second store to keep consistent; it holds
across gunicorn workers and restarts, on SQLite and PostgreSQL alike; and it keeps working when
Redis, which is only the task broker, is down.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from core.models import AuditEntry
from core.times import as_utc
from portal import audit
from portal.db import get_session

LOGIN_ACTION = "auth.login"


@dataclass(frozen=True)
class Lockout:
    retry_after: timedelta

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.retry_after.total_seconds() / 60))

    @property
    def message(self) -> str:
        unit = "minute" if self.minutes == 1 else "minutes"
        return (f"Too many failed sign-in attempts. For your protection, signing in from this address is "
                f"paused: try again in {self.minutes} {unit}.")


def _failures_since(cutoff: datetime, remote_addr: str, username: str | None):
    query = select(func.count(), func.min(AuditEntry.at)).where(
        AuditEntry.action == LOGIN_ACTION,
        AuditEntry.outcome == audit.FAILED,
        AuditEntry.remote_addr == remote_addr,
        AuditEntry.at >= cutoff,
    )
    if username is not None:
        query = query.where(AuditEntry.actor == username)
    return get_session().execute(query).one()


def _last_success(username: str, remote_addr: str) -> datetime | None:
    query = select(func.max(AuditEntry.at)).where(
        AuditEntry.action == LOGIN_ACTION,
        AuditEntry.outcome == audit.SUCCESS,
        AuditEntry.actor == username,
        AuditEntry.remote_addr == remote_addr,
    )
    return get_session().execute(query).scalar()


def check_lockout(username: str, remote_addr: str, *, max_failures: int, max_per_address: int,
                  window: timedelta, now: datetime | None = None) -> Lockout | None:
    """Return the lockout in force for this username from this address, or None.

    A pair is locked after ``max_failures`` failures within ``window`` (a success resets the count);
    an address is locked after ``max_per_address`` failures across all usernames.
    """
    now = now or datetime.now(UTC)
    cutoff = now - window
    last_success = _last_success(username, remote_addr)
    pair_cutoff = max(cutoff, as_utc(last_success)) if last_success else cutoff
    for user_filter, limit, since in ((username, max_failures, pair_cutoff), (None, max_per_address, cutoff)):
        count, oldest = _failures_since(since, remote_addr, user_filter)
        if count >= limit:
            # The lock lifts when the oldest counted failure leaves the window.
            return Lockout(retry_after=as_utc(oldest) + window - now)
    return None
