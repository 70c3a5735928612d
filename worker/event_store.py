"""Stack events stored once each, whichever path (polling, EventBridge) or worker stores them.

Polling stores CloudFormation's own ``EventId``. An EventBridge event does not carry it (its
detail names the stack, the resource, the status and reason; its ``time`` is whole seconds), so
an event that came through the queue is stored under ``BUS_PREFIX`` + the EventBridge event id
and both paths meet on a shared key: the same resource, status and reason within
``SAME_EVENT_SECONDS``. Whichever comes second is not stored again; when polling reads an event
the queue brought first, it gives that row CloudFormation's id and precise timestamp, so once a
stack was read the stored history is exactly what polling alone would have stored.

Both paths take the stack record's row lock first (an UPDATE of the row: a row lock on
PostgreSQL, the write lock on SQLite), so a poll and a batch from the queue storing the same
event at the same moment cannot both insert it; the (stack_record_id, event_id) key with ON
CONFLICT DO NOTHING still drops a duplicate of the same id (a redelivered message, a late poll).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterable

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.models import StackEvent, StackRecord
from worker.events import STACK_TYPE, Event

BUS_PREFIX = "evb:"
# An EventBridge event's time is the stack event's, cut to the second.
SAME_EVENT_SECONDS = 1.5


class UnsupportedDatabase(Exception):
    """The database has no INSERT ... ON CONFLICT DO NOTHING the worker knows how to write."""


def _insert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(StackEvent)
    if dialect == "sqlite":
        return sqlite.insert(StackEvent)
    raise UnsupportedDatabase(f"unsupported database dialect {dialect}")


def from_bus(event_id: str) -> bool:
    """Whether a stored event id is one the queue brought (not CloudFormation's)."""
    return event_id.startswith(BUS_PREFIX)


def _epoch(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def _lock(session: Session, record: StackRecord) -> None:
    session.execute(update(StackRecord).where(StackRecord.id == record.id).values(id=StackRecord.id)
                    .execution_options(synchronize_session=False))


def _stored(session: Session, record: StackRecord) -> dict[tuple[str, str, str], list[tuple[float, int, str]]]:
    """Shared key (logical id, status, reason) -> [(epoch, row id, event id)] of the record's events."""
    found: dict[tuple[str, str, str], list[tuple[float, int, str]]] = {}
    for row_id, event_id, logical_id, status, reason, stamp in session.execute(
            select(StackEvent.id, StackEvent.event_id, StackEvent.logical_id, StackEvent.status,
                   StackEvent.reason, StackEvent.timestamp).where(StackEvent.stack_record_id == record.id)):
        found.setdefault((logical_id, status, reason or ""), []).append((_epoch(stamp), row_id, event_id))
    return found


def _match(stored: dict[tuple[str, str, str], list[tuple[float, int, str]]], event: Event,
           bus_only: bool) -> tuple[float, int, str] | None:
    for candidate in stored.get((event.logical_id, event.status, event.reason), []):
        if abs(candidate[0] - event.timestamp.timestamp()) < SAME_EVENT_SECONDS \
                and (not bus_only or from_bus(candidate[2])):
            return candidate
    return None


def _row(record: StackRecord, e: Event) -> dict[str, Any]:
    return {"stack_record_id": record.id, "event_id": e.event_id, "timestamp": e.timestamp,
            "logical_id": e.logical_id, "physical_id": e.physical_id[:1024], "resource_type": e.resource_type,
            "status": e.status, "reason": e.reason}


def _insert_new(session: Session, rows: list[dict[str, Any]]) -> int:
    if not rows:
        return 0
    statement = (_insert(session).on_conflict_do_nothing(index_elements=["stack_record_id", "event_id"])
                 .returning(StackEvent.event_id))
    return len(session.scalars(statement, rows).all())


def store_events(session: Session, record: StackRecord, events: Iterable[Event]) -> int:
    """Insert ``events`` read from CloudFormation for ``record``; return how many were new.

    Events the queue stored first take CloudFormation's id and timestamp instead of a second row.
    The newest one read becomes the record's paging marker (worker/events.py).
    """
    events = list(events)
    if not events:
        return 0
    _lock(session, record)
    stored = _stored(session, record)
    known = {c[2] for cs in stored.values() for c in cs}
    rows = []
    for e in events:
        if e.event_id in known:
            continue
        twin = _match(stored, e, bus_only=True)
        if twin is not None:
            session.execute(update(StackEvent).where(StackEvent.id == twin[1]).values(
                event_id=e.event_id, timestamp=e.timestamp, physical_id=e.physical_id[:1024])
                .execution_options(synchronize_session=False))
            stored[(e.logical_id, e.status, e.reason)].remove(twin)
            continue
        rows.append(_row(record, e))
    inserted = _insert_new(session, rows)
    record.last_event_id = events[-1].event_id
    return inserted


def drop_unconfirmed(session: Session, record: StackRecord, final_status: str) -> int:
    """Once a read from CloudFormation reached the stack's final event, drop the queue's events it
    did not confirm; return how many.

    That read returned every event of the operation (worker/events.py pages back to the marker),
    so a row the queue brought and the read did not match is an earlier operation's event that
    arrived late (a queue holds events for a day), never one of this operation's.
    """
    final = session.scalar(select(StackEvent.event_id).where(
        StackEvent.stack_record_id == record.id, StackEvent.resource_type == STACK_TYPE,
        StackEvent.logical_id == record.stack_name, StackEvent.status == final_status)
        .order_by(StackEvent.timestamp.desc()).limit(1))
    if final is None or from_bus(final):
        return 0
    return session.execute(delete(StackEvent).where(StackEvent.stack_record_id == record.id,
                                                     StackEvent.event_id.startswith(BUS_PREFIX))
                           .execution_options(synchronize_session=False)).rowcount


def store_bus_events(session: Session, record: StackRecord, events: Iterable[Event]) -> int:
    """Insert events that came through the queue (ids ``BUS_PREFIX``...); return how many were new.

    One already stored, by either path, is skipped. The paging marker is not touched: it must be
    an id CloudFormation knows.
    """
    events = list(events)
    if not events:
        return 0
    _lock(session, record)
    stored = _stored(session, record)
    rows = []
    for e in events:
        if _match(stored, e, bus_only=False) is None:
            rows.append(_row(record, e))
            # A duplicate later in the same batch meets this one.
            stored.setdefault((e.logical_id, e.status, e.reason), []).append((e.timestamp.timestamp(), 0, e.event_id))
    return _insert_new(session, rows)
