"""Stack events stored once each, whichever worker (a resumed one, a late duplicate) stores them."""
from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.models import StackEvent, StackRecord
from worker.events import Event


class UnsupportedDatabase(Exception):
    """The database has no INSERT ... ON CONFLICT DO NOTHING the worker knows how to write."""


def _insert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(StackEvent)
    if dialect == "sqlite":
        return sqlite.insert(StackEvent)
    raise UnsupportedDatabase(f"unsupported database dialect {dialect}")


def store_events(session: Session, record: StackRecord, events: Iterable[Event]) -> int:
    """Insert ``events`` for ``record``; already stored ones are skipped. Return how many were new.

    ON CONFLICT DO NOTHING on the (stack_record_id, event_id) key makes this safe when two
    workers (a resumed one and a late duplicate) store the same page at the same moment.
    """
    rows = [
        {"stack_record_id": record.id, "event_id": e.event_id, "timestamp": e.timestamp,
         "logical_id": e.logical_id, "physical_id": e.physical_id[:1024], "resource_type": e.resource_type,
         "status": e.status, "reason": e.reason}
        for e in events
    ]
    if not rows:
        return 0
    statement = (_insert(session).on_conflict_do_nothing(index_elements=["stack_record_id", "event_id"])
                 .returning(StackEvent.event_id))
    inserted = len(session.scalars(statement, rows).all())
    record.last_event_id = rows[-1]["event_id"]
    return inserted
