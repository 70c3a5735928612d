"""Stack events: paged until the last one seen, stored once, and read for the root cause.

CloudFormation returns events newest first, 100 to a page; like SAM CLI's deployer, the worker
pages only until it meets the newest event it stored last time (``StackRecord.last_event_id``),
so a poll normally costs one call, and it stores the new ones oldest first.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any, Iterable, NamedTuple

from botocore.exceptions import ClientError
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.models import StackEvent, StackRecord
from worker import aws_errors

logger = logging.getLogger(__name__)

STACK_TYPE = "AWS::CloudFormation::Stack"
# CloudFormation cancels the siblings of a failed resource; those are consequences, not causes.
_CANCELLED_MARKERS = ("resource creation cancelled", "resource update cancelled")


class EventsError(Exception):
    """Stack events could not be read."""


class Event(NamedTuple):
    event_id: str
    stack_id: str
    stack_name: str
    timestamp: datetime
    logical_id: str
    physical_id: str
    resource_type: str
    status: str
    reason: str

    @property
    def is_stack_event(self) -> bool:
        """An event of the stack itself: its status is the stack's status."""
        return self.resource_type == STACK_TYPE and self.logical_id == self.stack_name


def _event(data: dict[str, Any]) -> Event:
    timestamp = data["Timestamp"]
    if timestamp.tzinfo is None:
        timestamp = timestamp.replace(tzinfo=timezone.utc)
    return Event(
        event_id=data["EventId"], stack_id=data.get("StackId", ""), stack_name=data.get("StackName", ""),
        timestamp=timestamp.astimezone(timezone.utc), logical_id=data.get("LogicalResourceId", ""),
        physical_id=data.get("PhysicalResourceId", "") or "", resource_type=data.get("ResourceType", ""),
        status=data.get("ResourceStatus", ""), reason=data.get("ResourceStatusReason", "") or "",
    )


def fetch_new_events(cfn: Any, stack: str, last_event_id: str = "") -> list[Event]:
    """Return the events of ``stack`` newer than ``last_event_id``, oldest first, each once."""
    newest_first: list[Event] = []
    seen: set[str] = set()
    try:
        for page in cfn.get_paginator("describe_stack_events").paginate(StackName=stack):
            for data in page.get("StackEvents") or []:
                if data["EventId"] == last_event_id:
                    return list(reversed(newest_first))
                if data["EventId"] not in seen:
                    seen.add(data["EventId"])
                    newest_first.append(_event(data))
    except ClientError as err:
        raise EventsError(f"cannot read the events of stack {stack}: {err}") from err
    if last_event_id:
        # The marker fell off the event history (or belongs to another stack with this name):
        # everything is returned and the unique key drops what was stored already.
        logger.info("last seen event %s not found for %s; read its whole history", last_event_id, stack)
    return list(reversed(newest_first))


def newest_event_id(cfn: Any, stack: str) -> str:
    """Return the id of the newest event of ``stack`` (one call), or "" when it has none."""
    try:
        page = cfn.describe_stack_events(StackName=stack)
    except ClientError as err:
        if aws_errors.is_stack_missing(err):
            return ""
        raise EventsError(f"cannot read the events of stack {stack}: {err}") from err
    events = page.get("StackEvents") or []
    return events[0]["EventId"] if events else ""


def _insert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(StackEvent)
    if dialect == "sqlite":
        return sqlite.insert(StackEvent)
    raise EventsError(f"unsupported database dialect {dialect}")


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


def is_cancellation(reason: str) -> bool:
    lowered = reason.lower()
    return any(marker in lowered for marker in _CANCELLED_MARKERS)


def root_cause(session: Session, records: Iterable[StackRecord]) -> dict[str, str] | None:
    """The first failed resource (oldest first) across ``records``, ignoring cancellations."""
    by_id = {r.id: r for r in records}
    if not by_id:
        return None
    failures = session.scalars(
        select(StackEvent)
        .where(StackEvent.stack_record_id.in_(by_id), StackEvent.status.like("%_FAILED"))
        .order_by(StackEvent.timestamp, StackEvent.id)
    ).all()
    candidates = [e for e in failures if not is_cancellation(e.reason)]
    # A resource's failure explains more than the stack's own summary event.
    resource_failures = [e for e in candidates if e.resource_type != STACK_TYPE]
    first = (resource_failures or candidates or [None])[0]
    if first is None:
        return None
    record = by_id[first.stack_record_id]
    return {
        "resource": first.logical_id, "type": first.resource_type, "reason": first.reason,
        "status": first.status, "stack": record.stack_name, "account": record.account_id,
        "region": record.region,
    }
