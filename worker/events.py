"""Stack events read from CloudFormation: paged until the last one seen, returned oldest first.

CloudFormation returns events newest first, 100 to a page; like SAM CLI's deployer, the worker
pages only until it meets the newest event it stored last time (``StackRecord.last_event_id``),
so a poll normally costs one call. Storing them is worker/event_store.py's job, reading the root
cause of a failure from the stored ones worker/root_cause.py's.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any, NamedTuple

from botocore.exceptions import ClientError

from worker import aws_errors

logger = logging.getLogger(__name__)

STACK_TYPE = "AWS::CloudFormation::Stack"


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
