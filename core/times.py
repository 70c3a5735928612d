"""Stored moments as the portal shows them: every stored time is UTC.

SQLite hands naive datetimes back (PostgreSQL aware ones), so whoever reads a stored moment makes
it aware here before comparing or printing it.
"""
from __future__ import annotations

from datetime import UTC, datetime


def as_utc(moment: datetime | None) -> datetime | None:
    """The moment, marked UTC when the database handed it back naive."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 with its UTC offset (JSON answers), or None."""
    moment = as_utc(moment)
    return moment.isoformat() if moment else None


def from_iso(value: str | None) -> datetime | None:
    """The moment an ISO 8601 string (as :func:`iso` writes, or AWS) names, aware; None for none."""
    return as_utc(datetime.fromisoformat(value)) if value else None
