"""Pacing: a stack operation's events are computed at once and revealed over time.

moto does the work synchronously inside the request; the emulator then gives each event a
scheduled timestamp ``pace`` seconds after the previous one and hides events that are not
due yet. The stack's status, outputs and resources are read from the events that are
visible, so a client polling DescribeStacks sees ``*_IN_PROGRESS`` until the last event.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from moto.cloudformation.models import Event
from moto.core.utils import utcnow

from emulator.eventbridge import cfn_events

STACK_TYPE = "AWS::CloudFormation::Stack"


@dataclass
class Step:
    """One event of an operation, before it has a time."""

    logical_id: str
    resource_type: str
    status: str
    reason: str | None = None
    physical_id: str = ""
    # Deleting the old copy of a replaced resource must not hide the new copy's state.
    replaced_copy: bool = False


@dataclass
class Operation:
    """One stack operation (create, update, delete, with its rollback) on the timeline."""

    kind: str
    events: list[Event]
    starts_at: datetime.datetime
    ends_at: datetime.datetime
    final_status: str
    outputs: list[dict[str, Any]] | None = None
    replaced_copies: set[str] = field(default_factory=set)  # event ids

    def done(self, now: datetime.datetime) -> bool:
        return self.ends_at <= now


class Timeline:
    """All operations of one stack, in order; everything visible is computed from ``now``."""

    def __init__(self) -> None:
        self.operations: list[Operation] = []

    def schedule(self, stack: Any, kind: str, steps: list[Step], pace: float,
                 outputs: list[dict[str, Any]] | None) -> Operation:
        """Give the steps times ``pace`` apart, after any operation still running."""
        start = utcnow()
        if self.operations and self.operations[-1].ends_at > start:
            start = self.operations[-1].ends_at
        events: list[Event] = []
        replaced: set[str] = set()
        for index, step in enumerate(steps):
            event = Event(
                stack_id=stack.stack_id,
                stack_name=stack.name,
                logical_resource_id=step.logical_id,
                physical_resource_id=step.physical_id,
                resource_type=step.resource_type,
                resource_status=step.status,
                resource_status_reason=step.reason,
                resource_properties=None,
            )
            event.timestamp = start + datetime.timedelta(seconds=pace * index)
            event.event_id = str(event.event_id)
            if step.replaced_copy:
                replaced.add(event.event_id)
            events.append(event)
        operation = Operation(
            kind=kind, events=events, starts_at=start, ends_at=events[-1].timestamp,
            final_status=steps[-1].status, outputs=outputs, replaced_copies=replaced,
        )
        self.operations.append(operation)
        cfn_events.scheduled(stack, events)  # AWS pushes each event to EventBridge when it is due
        return operation

    def visible_events(self, now: datetime.datetime | None = None) -> list[Event]:
        """Events that are due, oldest first."""
        now = now or utcnow()
        return [e for op in self.operations for e in op.events if e.timestamp <= now]

    def last_stack_event(self, now: datetime.datetime | None = None) -> Event | None:
        for event in reversed(self.visible_events(now)):
            if event.resource_type == STACK_TYPE:
                return event
        return None

    def busy(self, now: datetime.datetime | None = None) -> bool:
        """True while an operation has events still to come."""
        now = now or utcnow()
        return bool(self.operations) and not self.operations[-1].done(now)

    def latest_done(self, now: datetime.datetime | None = None) -> Operation | None:
        now = now or utcnow()
        for operation in reversed(self.operations):
            if operation.done(now):
                return operation
        return None

    def resource_states(self, now: datetime.datetime | None = None) -> dict[str, Event]:
        """Latest visible event per resource; resources deleted by a finished operation drop out."""
        now = now or utcnow()
        states: dict[str, Event] = {}
        for operation in self.operations:
            for event in operation.events:
                if event.timestamp > now:
                    break
                if event.resource_type == STACK_TYPE or event.event_id in operation.replaced_copies:
                    continue
                states[event.logical_resource_id] = event
            if operation.done(now):
                for logical_id in [k for k, e in states.items()
                                   if e.resource_status in ("DELETE_COMPLETE", "DELETE_SKIPPED")]:
                    del states[logical_id]
        return states
